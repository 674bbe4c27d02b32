// Placeholder until the demo app lands (issue 6): says what exists today.
console.log('mcp-llmchat demo: not built yet. The library and its tests are: run `npm test`.');
