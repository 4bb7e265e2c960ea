/** Builds the /health body from what NATS discovery found (pure: no I/O). */

export interface InstanceInfo {
  service: string;
  id: string;
  version: string;
  metadata: Record<string, string>;
}

export interface HealthReport {
  status: 'ok' | 'degraded' | 'down';
  nats: 'connected' | 'disconnected';
  problems: string[];
  instances: InstanceInfo[];
  checkedAt: string;
}

export const REQUIRED_SERVICES = ['ari-gateway', 'call-controller'] as const;

export function buildReport(natsConnected: boolean, instances: InstanceInfo[], now = new Date()): HealthReport {
  const checkedAt = now.toISOString();
  if (!natsConnected) {
    return { status: 'down', nats: 'disconnected', problems: ['NATS unreachable'], instances: [], checkedAt };
  }
  const problems = REQUIRED_SERVICES
    .filter((service) => !instances.some((i) => i.service === service))
    .map((service) => `no ${service} instance answers`);
  return { status: problems.length === 0 ? 'ok' : 'degraded', nats: 'connected', problems, instances, checkedAt };
}
