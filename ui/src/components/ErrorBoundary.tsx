import { Component, type ReactNode } from 'react';

/** ErrorBoundary keeps a render failure (e.g. a half-typed schema in the preview) local. */
export class ErrorBoundary extends Component<{ fallback: (err: Error) => ReactNode; resetKey?: unknown; children: ReactNode }, { err: Error | null; key?: unknown }> {
  state: { err: Error | null; key?: unknown } = { err: null, key: undefined };

  static getDerivedStateFromError(err: Error) {
    return { err };
  }

  static getDerivedStateFromProps(props: { resetKey?: unknown }, state: { err: Error | null; key?: unknown }) {
    if (props.resetKey !== state.key) return { err: null, key: props.resetKey };
    return null;
  }

  render() {
    return this.state.err ? this.props.fallback(this.state.err) : this.props.children;
  }
}
