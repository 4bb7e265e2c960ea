/**
 * Just enough of Asterisk's config syntax to check the rendered files: sections, `key = value`
 * (or `=>`) statements, `;` comments; the dialplan applications and functions extensions.conf
 * uses; and docker/asterisk/asterisk-22-modules.txt, the module set they are checked against.
 */

export interface Statement {
  section: string;
  key: string;
  value: string;
  line: number;
}

/** The part of a line before its comment (an unescaped `;`). */
export function stripComment(line: string): string {
  const at = line.search(/(?<!\\);/);
  return (at < 0 ? line : line.slice(0, at)).trim();
}

export function isCommentLine(line: string): boolean {
  return /^\s*;/.test(line);
}

export function parseConf(text: string): Statement[] {
  const out: Statement[] = [];
  let section = '';
  text.split('\n').forEach((raw, i) => {
    const line = stripComment(raw);
    if (!line) return;
    const header = /^\[([^\]]+)\](\(.*\))?$/.exec(line);
    if (header) {
      section = header[1]!;
      return;
    }
    const m = /^([^=]+?)\s*=>?\s*(.*)$/.exec(line);
    if (m) out.push({ section, key: m[1]!.trim(), value: m[2]!.trim(), line: i + 1 });
  });
  return out;
}

/** Values of `key` in `section` (all of them: a key may repeat). */
export function values(statements: Statement[], section: string, key: string): string[] {
  return statements.filter((s) => s.section === section && s.key === key).map((s) => s.value);
}

export interface DialplanStep {
  context: string;
  app: string;
  args: string;
  line: number;
}

/** Every `exten =>` / `same =>` step: the application it runs and its arguments. */
export function dialplanSteps(text: string): DialplanStep[] {
  return parseConf(text)
    .filter((s) => s.key === 'exten' || s.key === 'same')
    .map((s) => {
      // exten => pattern,priority[(label)],App(args)   same => priority[(label)],App(args)
      const rest = s.key === 'exten' ? s.value.split(',').slice(2).join(',') : s.value.split(',').slice(1).join(',');
      const m = /^\s*([A-Za-z0-9_]+)\s*(?:\((.*)\))?\s*$/.exec(rest);
      if (!m) throw new Error(`extensions.conf line ${s.line}: cannot read the application in '${s.value}'`);
      return { context: s.section, app: m[1]!, args: m[2] ?? '', line: s.line };
    });
}

/** Dialplan functions used anywhere in the text: `${NAME(`. */
export function dialplanFunctions(text: string): Set<string> {
  return new Set([...text.split('\n').filter((l) => !isCommentLine(l)).join('\n').matchAll(/\$\{([A-Z][A-Z0-9_]*)\(/g)].map((m) => m[1]!));
}

export interface KnownModule {
  name: string;
  source: string;
  apps: string[];
  funcs: string[];
}

/** docker/asterisk/asterisk-22-modules.txt: module, source path, then app:/func: entries. */
export function parseModuleList(text: string): KnownModule[] {
  return text.split('\n').filter((l) => l.trim() && !l.startsWith('#')).map((l) => {
    const [name, source, ...provides] = l.trim().split(/\s+/);
    return {
      name: name!,
      source: source!,
      apps: provides.filter((p) => p.startsWith('app:')).map((p) => p.slice(4)),
      funcs: provides.filter((p) => p.startsWith('func:')).map((p) => p.slice(5)),
    };
  });
}
