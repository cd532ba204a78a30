// Custom parameters: `{{name}}` in the content (openapi.md § Commands and runs). Built-ins
// (`{{ACS::…}}`) and parameter-store references are filled by the agent and are not asked for.
const TOKEN = /\{\{([^{}]*)\}\}/g;
const AGENT_TOKEN = /^(ACS::|oos:|oos-secret:)/;
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The distinct custom parameter names, in order of first use, compared case-insensitively. */
export function detectParameters(content: string): string[] {
  const seen = new Map<string, string>();
  for (const m of content.matchAll(TOKEN)) {
    const name = m[1]!.trim();
    if (!AGENT_TOKEN.test(name) && NAME.test(name) && !seen.has(name.toLowerCase())) {
      seen.set(name.toLowerCase(), name);
    }
  }
  return [...seen.values()];
}
