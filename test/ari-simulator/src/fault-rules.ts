// failNext(): canned replies for the next N requests matching a method and a path regex.

export interface FaultMatch {
  method?: string;
  path: RegExp;
}

export interface FaultResponse {
  status: number;
  body?: unknown;
  delayMs?: number;
}

interface FaultRule {
  match: FaultMatch;
  response: FaultResponse;
  remaining: number;
}

export class FaultRules {
  private rules: FaultRule[] = [];

  add(match: FaultMatch, response: FaultResponse, times: number): void {
    if (times > 0) this.rules.push({ match, response, remaining: times });
  }

  /** The first rule matching `method` and the raw request path, consuming one of its uses. */
  take(method: string, rawPath: string): FaultResponse | undefined {
    if (this.rules.length === 0) return undefined;
    for (const rule of this.rules) {
      if (rule.match.method !== undefined && rule.match.method.toUpperCase() !== method) continue;
      rule.match.path.lastIndex = 0;
      if (!rule.match.path.test(rawPath)) continue;
      rule.remaining -= 1;
      if (rule.remaining <= 0) this.rules = this.rules.filter((r) => r !== rule);
      return rule.response;
    }
    return undefined;
  }
}
