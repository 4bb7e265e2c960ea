/**
 * Finds the running gateway and controller instances through the NATS services API
 * (`$SRV.PING.<name>`), waiting at most `maxWaitMs` for answers so a hung instance cannot
 * stall /health.
 */
import { RequestStrategy, type NatsConnection } from 'nats';
import { REQUIRED_SERVICES, type InstanceInfo } from './health-report.js';

export async function discoverInstances(nc: NatsConnection, maxWaitMs: number): Promise<InstanceInfo[]> {
  const client = nc.services.client({ maxWait: maxWaitMs, strategy: RequestStrategy.Timer });
  const found: InstanceInfo[] = [];
  await Promise.all(REQUIRED_SERVICES.map(async (service) => {
    try {
      for await (const info of await client.info(service)) {
        found.push({ service: info.name, id: info.id, version: info.version, metadata: info.metadata ?? {} });
      }
    } catch {
      // No responders: no instance of that service; the report names it.
    }
  }));
  return found.sort((a, b) => a.service.localeCompare(b.service) || a.id.localeCompare(b.id));
}
