/**
 * Health, metrics and API docs: open without a token and never rate limited, so probes and
 * scrapers keep working whatever clients do.
 */
export function isOperationalPath(path: string): boolean {
  return (
    path === '/metrics' || path.startsWith('/health/') || path === '/health' || isDocsPath(path)
  );
}

export function isDocsPath(path: string): boolean {
  return path === '/docs' || path.startsWith('/docs/') || path.startsWith('/docs-');
}

/** The path of a request target, without its query. */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
