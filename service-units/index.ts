// The service-manager templates (systemd, upstart, sysvinit, Windows/WinSW) with {{placeholders}}.
// The *.tmpl files are the source; templates.generated.ts embeds them (see embed.ts).
export { TEMPLATES, type TemplateName } from './templates.generated.js';
