import { lazy, type ComponentType, type LazyExoticComponent } from "react";

/**
 * Every page of the dashboard: its URL pattern, its component (each in its own file under pages/, loaded when
 * first opened) and, for the pages listed in the navigation, its label there. Add a page by adding a line.
 */
export interface PageRoute {
  path: string;
  page: LazyExoticComponent<ComponentType>;
  nav?: string;
}

export const pageRoutes: PageRoute[] = [
  { path: "/", page: lazy(() => import("./pages/Overview")), nav: "Overview" },
  { path: "/runs", page: lazy(() => import("./pages/Runs")), nav: "Runs" },
  { path: "/runs/:runId", page: lazy(() => import("./pages/RunDetail")) },
  { path: "/catalog", page: lazy(() => import("./pages/Catalog")), nav: "Catalog" },
  { path: "/models/:model", page: lazy(() => import("./pages/ModelDetail")) },
  { path: "/models/:model/versions/:version", page: lazy(() => import("./pages/VersionDetail")) },
  { path: "/models/:model/compare", page: lazy(() => import("./pages/Compare")) },
  { path: "/models/:model/drift", page: lazy(() => import("./pages/DriftReports")) },
  { path: "/drift/:reportId", page: lazy(() => import("./pages/DriftReport")) },
  { path: "/deployments", page: lazy(() => import("./pages/Deployments")), nav: "Deployments" },
  { path: "/deployments/:model", page: lazy(() => import("./pages/Deployment")) },
  { path: "/monitoring", page: lazy(() => import("./pages/Monitoring")), nav: "Monitoring" },
  { path: "/audit", page: lazy(() => import("./pages/Audit")), nav: "Audit log" },
];

export const navItems = pageRoutes.filter((route): route is PageRoute & { nav: string } => route.nav !== undefined);
