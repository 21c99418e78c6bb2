import { readdirSync, readFileSync } from 'node:fs';

/**
 * Where a phase's CPU went: the CPU time of every process on the machine, read from /proc and
 * summed by what the process is. Every component shares the same cores, so a figure short of
 * its ceiling is explained by these sums, not by one process's profile.
 */
export const CPU_GROUPS = [
  'command-service',
  'query-service',
  'postgresql',
  'rabbitmq',
  'read-store',
  'load',
] as const;
export type CpuGroup = (typeof CPU_GROUPS)[number];

/** Linux reports process times in clock ticks of 1/100 s (`getconf CLK_TCK`). */
const TICK_MS = 10;

function groupOf(pid: number, cmdline: string): CpuGroup | null {
  if (pid === process.pid) return 'load';
  if (cmdline.includes('command-service')) return 'command-service';
  if (cmdline.includes('query-service')) return 'query-service';
  if (cmdline.includes('ferretdb') || cmdline.includes('mongod')) return 'read-store';
  // FerretDB keeps its documents in PostgreSQL: a backend of its database is read-store time.
  if (/^postgres: .*\bferretdb\b/.test(cmdline)) return 'read-store';
  if (cmdline.includes('postgres')) return 'postgresql';
  if (cmdline.includes('beam.smp')) return 'rabbitmq';
  return null;
}

/** CPU milliseconds so far of every process, by pid: group and user+system time. */
function cpuByProcess(): Map<number, { group: CpuGroup; ms: number }> {
  const processes = new Map<number, { group: CpuGroup; ms: number }>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ');
      const group = groupOf(pid, cmdline);
      if (group === null) continue;
      // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      processes.set(pid, { group, ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS });
    } catch {
      // The process ended while it was read.
    }
  }
  return processes;
}

export interface CpuUse {
  wallMs: number;
  /** CPU milliseconds by group; a process that ended during the phase is not counted. */
  ms: Record<CpuGroup, number>;
}

/** Starts counting; the returned function gives the CPU used since. */
export function countCpu(): () => CpuUse {
  const before = cpuByProcess();
  const started = performance.now();
  return () => {
    const ms = Object.fromEntries(CPU_GROUPS.map((group) => [group, 0])) as Record<
      CpuGroup,
      number
    >;
    for (const [pid, now] of cpuByProcess()) ms[now.group] += now.ms - (before.get(pid)?.ms ?? 0);
    return { wallMs: performance.now() - started, ms };
  };
}
