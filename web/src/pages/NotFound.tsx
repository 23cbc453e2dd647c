import { Link, useLocation } from "react-router";

export default function NotFound() {
  const { pathname } = useLocation();
  return (
    <section className="panel error" role="alert">
      <h2>No such page</h2>
      <p>The dashboard has no page at <code>{pathname}</code>.</p>
      <p className="actions"><Link to="/">Back to the overview</Link></p>
    </section>
  );
}
