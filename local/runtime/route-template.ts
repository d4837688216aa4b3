/**
 * Azure Functions HTTP route templates (ASP.NET Core routing syntax, the subset Functions
 * documents): literal segments, `{name}`, `{name?}` (optional, last), `{name:int}` style
 * constraints (int, long, bool, guid, alpha), `{*rest}` catch-all (last). Matching is
 * case-insensitive for literals, as in the host.
 */
export interface CompiledRoute {
  readonly template: string;
  /** Lower sorts first: literal segments beat parameters, which beat catch-alls (ASP.NET order). */
  readonly precedence: number[];
  match(path: string): Record<string, string> | undefined;
}

type Segment =
  | { kind: 'literal'; value: string }
  | { kind: 'param'; name: string; optional: boolean; constraint: Constraint | undefined }
  | { kind: 'catchAll'; name: string };

type Constraint = 'int' | 'long' | 'bool' | 'guid' | 'alpha';

const CONSTRAINTS: Record<Constraint, RegExp> = {
  int: /^-?\d{1,10}$/,
  long: /^-?\d{1,19}$/,
  bool: /^(true|false)$/i,
  guid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  alpha: /^[a-z]+$/i,
};

export function compileRoute(template: string): CompiledRoute {
  const segments = splitPath(template).map(parseSegment);
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    if ((segment.kind === 'catchAll' || (segment.kind === 'param' && segment.optional)) && !last) {
      throw new Error(`Route "${template}": an optional or catch-all parameter must be the last segment.`);
    }
  });
  const precedence = segments.map((s) =>
    s.kind === 'literal' ? 0 : s.kind === 'catchAll' ? 4 : s.optional ? 3 : s.constraint !== undefined ? 1 : 2,
  );
  return {
    template,
    precedence,
    match(path) {
      const parts = splitPath(path);
      const params: Record<string, string> = {};
      for (let i = 0; i < segments.length; i++) {
        const segment = segments[i];
        const part = parts[i];
        if (segment === undefined) return undefined;
        if (segment.kind === 'catchAll') {
          params[segment.name] = parts.slice(i).join('/');
          return params;
        }
        if (part === undefined) {
          return segment.kind === 'param' && segment.optional && i === parts.length ? params : undefined;
        }
        if (segment.kind === 'literal') {
          if (segment.value.toLowerCase() !== part.toLowerCase()) return undefined;
        } else {
          if (segment.constraint !== undefined && !CONSTRAINTS[segment.constraint].test(part)) return undefined;
          params[segment.name] = part;
        }
      }
      return parts.length === segments.length ? params : undefined;
    },
  };
}

/** Orders routes so that the first match is the one the host would choose. */
export function byPrecedence(a: CompiledRoute, b: CompiledRoute): number {
  const length = Math.max(a.precedence.length, b.precedence.length);
  for (let i = 0; i < length; i++) {
    const pa = a.precedence[i] ?? -1;
    const pb = b.precedence[i] ?? -1;
    if (pa !== pb) return pa - pb;
  }
  return 0;
}

function splitPath(path: string): string[] {
  return path
    .split('/')
    .filter((part) => part !== '')
    .map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        return part;
      }
    });
}

function parseSegment(raw: string): Segment {
  const param = /^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?(\?)?\}$/.exec(raw);
  if (param === null) {
    if (raw.includes('{') || raw.includes('}')) {
      throw new Error(`Route segment "${raw}": complex segments are not supported.`);
    }
    return { kind: 'literal', value: raw };
  }
  const [, star, name = '', constraint, optional] = param;
  if (star !== undefined) return { kind: 'catchAll', name };
  if (constraint !== undefined && !(constraint in CONSTRAINTS)) {
    throw new Error(`Route segment "${raw}": unsupported constraint "${constraint}".`);
  }
  return { kind: 'param', name, optional: optional !== undefined, constraint: constraint as Constraint | undefined };
}
