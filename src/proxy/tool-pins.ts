// The seam between the tool lists and whoever pins tool definitions: the proxy owns it, src/pins implements it.

export interface ToolPins {
  /** Judges one listing (or page) of `server`'s tools: pins on first use, holds changed ones. */
  note(server: string, tools: readonly unknown[]): void;
  /** Why `tool` of `server` is held (its definition changed since it was pinned, ...), or undefined. */
  held(server: string, tool: string): string | undefined;
}
