/**
 * The sum of a metric's samples in a Prometheus text exposition, over the samples whose label
 * set contains `labels` (e.g. `outcome="applied"`); 0 when it has none.
 */
export function metricSum(metrics: string, name: string, labels = ''): number {
  return metrics
    .split('\n')
    .filter(
      (line) =>
        (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && line.includes(labels),
    )
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}
