// undici ships no declarations for its modules one by one; this one is its `Agent` (see
// `importUndiciAgent`).
declare module 'undici/lib/dispatcher/agent.js' {
  import type { Agent } from 'undici';

  const AgentClass: typeof Agent;
  export default AgentClass;
}
