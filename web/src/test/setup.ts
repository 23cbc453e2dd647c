import "@testing-library/jest-dom/vitest";
import { cleanup, configure } from "@testing-library/react";
import { afterEach, beforeEach, expect, vi, type MockInstance } from "vitest";

// jsdom lays nothing out; the graph and chart libraries only need these to exist.
class NoResizeObserver {
  observe() {}
  unobserve() {}
  disconnect() {}
}
globalThis.ResizeObserver ??= NoResizeObserver as unknown as typeof ResizeObserver;

// A page that logs an error fails its test: the dashboard must show no console errors.
let consoleErrors: MockInstance<typeof console.error>;
beforeEach(() => {
  consoleErrors = vi.spyOn(console, "error");
});

afterEach(() => {
  const logged = consoleErrors.mock.calls.map((args) => args.map((part: unknown) => String(part)).join(" "));
  cleanup();
  window.sessionStorage.clear();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  expect(logged, "console.error was called").toEqual([]);
});

// Pages load lazily; their first import is transformed on demand, which takes seconds on a busy machine.
configure({ asyncUtilTimeout: 15_000 });
