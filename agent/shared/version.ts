// The agent's version, in the stock four-part form (it appears in User-Agent and the install path).
export const AGENT_VERSION = '2.6.0.1';
