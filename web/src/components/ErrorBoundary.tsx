import { Component, type ErrorInfo, type ReactNode } from "react";
import { describe } from "./ErrorPanel";

interface State {
  error: unknown;
}

/** Catches a page's rendering bug so that the rest of the dashboard stays usable. */
export class ErrorBoundary extends Component<{ children: ReactNode }, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: unknown): State {
    return { error };
  }

  componentDidCatch(error: unknown, info: ErrorInfo): void {
    console.error("dashboard page failed", error, info.componentStack);
  }

  render() {
    if (this.state.error === null) return this.props.children;
    const { heading, body, hint } = describe(this.state.error);
    return (
      <section className="panel error" role="alert">
        <h2>{heading}</h2>
        <p>{body}</p>
        {hint && <p className="hint">{hint}</p>}
        <button type="button" onClick={() => this.setState({ error: null })}>Try again</button>
      </section>
    );
  }
}
