// End-to-end test of `tokenrail mcp` with the official MCP TypeScript SDK:
// StdioClientTransport launches the server; the test lists tools, runs the
// bundled bug-triage workflow to completion, replays an advance, forks from
// an older stateToken, and sends malformed input (through the SDK and as raw
// lines on a separately spawned server's stdin).
//
// usage: node e2e.mjs <path to the tokenrail binary> <workflows dir>
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

const [cli, workflows] = process.argv.slice(2);
if (!cli || !workflows) {
  console.error('usage: node e2e.mjs <tokenrail binary> <workflows dir>');
  process.exit(2);
}
const serverArgs = ['--memory', '--workflows', workflows, 'mcp'];
let checks = 0;
function check(cond, message) {
  assert.ok(cond, message);
  checks++;
}

async function withClient(fn) {
  const transport = new StdioClientTransport({ command: cli, args: serverArgs, stderr: 'inherit' });
  // The SDK tells the transport which protocol version initialize agreed on.
  let negotiated = null;
  transport.setProtocolVersion = (v) => { negotiated = v; };
  const client = new Client({ name: 'tokenrail-e2e', version: '1.0.0' });
  await client.connect(transport);
  // The SDK asks for its newest version; the server answers with that one if
  // it speaks it, else with its own newest, which this SDK also speaks.
  check(['2025-06-18', '2025-03-26', '2024-11-05'].includes(negotiated), `negotiated protocol version (${negotiated})`);
  try {
    await fn(client);
  } finally {
    await client.close();
  }
}

function tokensBlock(text) {
  const m = text.match(/```json\n([\s\S]*?)\n```\n?$/);
  assert.ok(m, 'the rendering ends with a fenced json block');
  return JSON.parse(m[1]);
}

function outputFor(pending, n, decision) {
  const output = { notesMarkdown: `## ${pending.title}\n\nStep ${n} done by the MCP end-to-end test.` };
  const loops = pending.loops ?? [];
  if (loops.length > 0 && pending.outputContract?.contractRef?.endsWith('loop_control')) {
    output.artifacts = [{ kind: 'loop_control', loopId: loops.at(-1).loopId, decision }];
  }
  return output;
}

async function mainFlow(client) {
  check(client.getServerVersion()?.name === 'tokenrail', 'serverInfo.name');
  check(client.getServerCapabilities()?.tools !== undefined, 'tools capability');
  await client.ping();

  // tools/list: the agent-facing operations with their schemas.
  const { tools, nextCursor } = await client.listTools();
  check(nextCursor === undefined, 'the tool list is one page');
  // A cursor the server never issued: "Invalid cursors SHOULD result in an
  // error with code -32602" (MCP pagination).
  let cursorCode = null;
  try {
    await client.listTools({ cursor: 'not-issued-by-the-server' });
  } catch (e) {
    cursorCode = e.code;
  }
  check(cursorCode === -32602, `unknown cursor -> -32602 (${cursorCode})`);
  const names = tools.map((t) => t.name);
  for (const n of ['list_workflows', 'inspect_workflow', 'start_workflow', 'continue_workflow']) {
    check(names.includes(n), `tools/list has ${n}`);
  }
  check(!names.includes('rotate_key'), 'host-side operations are not listed');
  for (const t of tools) {
    check(typeof t.description === 'string' && t.description.length > 20, `${t.name} has a description`);
    check(t.inputSchema?.type === 'object', `${t.name} has an object inputSchema`);
  }

  const list = await client.callTool({ name: 'list_workflows', arguments: {} });
  check(!list.isError, 'list_workflows ok');
  check(list.structuredContent.workflows.some((w) => w.workflowId === 'bug-triage'), 'bug-triage is listed');

  // Start, then advance to completion.
  const start = await client.callTool({
    name: 'start_workflow',
    arguments: { workflowId: 'bug-triage', context: { ticket: 'BUG-7', severity: 'high', component: 'checkout' } },
  });
  check(!start.isError, 'start ok');
  const first = start.structuredContent;
  check(first.pending.stepId === 'intake', 'first step is intake');
  check(start.content[0].type === 'text' && start.content[0].text.startsWith('# Intake BUG-7'), 'text-first rendering');
  const block = tokensBlock(start.content[0].text);
  check(block.stateToken === first.stateToken && block.ackToken === first.ackToken, 'tokens in the json block');

  const advances = [];
  let current = first;
  let n = 0;
  while (!current.isComplete) {
    n++;
    assert.ok(n < 50, 'the run completes');
    const args = { stateToken: current.stateToken, ackToken: current.ackToken, output: outputFor(current.pending, n, 'stop') };
    const r = await client.callTool({ name: 'continue_workflow', arguments: args });
    check(!r.isError, `advance ${n} ok: ${r.content[0].text.slice(0, 200)}`);
    check(r.structuredContent.kind === 'ok', `advance ${n} not blocked`);
    advances.push({ args, result: r });
    current = r.structuredContent;
  }
  check(current.nextIntent === 'complete' && current.pending === null, 'completed');
  check(current.session.runId === first.session.runId, 'same run');
  console.log(`ran bug-triage to completion in ${n} advances`);

  // Replay: the same (stateToken, ackToken) and body -> the same response.
  const replayed = await client.callTool({ name: 'continue_workflow', arguments: advances[2].args });
  assert.deepEqual(replayed.structuredContent, advances[2].result.structuredContent, 'replay: same structured response');
  assert.equal(replayed.content[0].text, advances[2].result.content[0].text, 'replay: same text');
  checks += 2;

  // Same pair, different body -> ACK_ALREADY_USED as data.
  const reuse = await client.callTool({
    name: 'continue_workflow',
    arguments: { ...advances[2].args, output: { notesMarkdown: 'something else entirely' } },
  });
  check(reuse.isError === true, 'different body is an error');
  check(reuse.structuredContent.error.code === 'ACK_ALREADY_USED', 'ACK_ALREADY_USED');

  // Fork: rehydrate the first stateToken (no ackToken), advance differently.
  const rehydrated = await client.callTool({ name: 'continue_workflow', arguments: { stateToken: first.stateToken } });
  check(!rehydrated.isError, 'rehydrate ok');
  const rh = rehydrated.structuredContent;
  check(rh.pending.stepId === 'intake', 'rehydrate returns the same pending step');
  check(rh.ackToken !== first.ackToken, 'rehydrate mints a fresh ackToken (new attempt)');
  const fork = await client.callTool({
    name: 'continue_workflow',
    arguments: { stateToken: rh.stateToken, ackToken: rh.ackToken, output: { notesMarkdown: '## Intake\n\nA different reading of the report.' } },
  });
  check(!fork.isError, 'fork advance ok');
  check(fork.structuredContent.stateToken !== advances[0].result.structuredContent.stateToken, 'the fork is a new node');
  check(fork.structuredContent.pending.stepId === 'reproduce', 'the fork continues at the next step');
  check(fork.structuredContent.session.runId === first.session.runId, 'the fork stays in the run');

  // Malformed input through the SDK.
  const wrongType = await client.callTool({ name: 'start_workflow', arguments: { workflowId: 42 } });
  check(wrongType.isError === true, 'wrong argument type -> isError');
  check(wrongType.structuredContent.error.code === 'INVALID_REQUEST', 'INVALID_REQUEST');
  check(wrongType.content[0].text.includes('INVALID_REQUEST'), 'rendered error');
  const badToken = await client.callTool({ name: 'continue_workflow', arguments: { stateToken: 'st1_not-a-token' } });
  check(badToken.isError === true && badToken.structuredContent.error.code.startsWith('TOKEN_'), 'bad token -> token error');
  let unknownTool = null;
  try {
    const r = await client.callTool({ name: 'no_such_tool', arguments: {} });
    unknownTool = r.isError ? 'isError' : null;
  } catch (e) {
    unknownTool = e.code;
  }
  check(unknownTool === -32602 || unknownTool === 'isError', `unknown tool is refused (${unknownTool})`);
  let unknownMethod = null;
  try {
    await client.request({ method: 'resources/list', params: {} }, (await import('@modelcontextprotocol/sdk/types.js')).ListResourcesResultSchema);
  } catch (e) {
    unknownMethod = e.code;
  }
  check(unknownMethod === -32601, `unknown method -> -32601 (${unknownMethod})`);
  // Still alive after all of that.
  await client.ping();
}

// Raw lines on stdin: each bad line gets an error reply; the server lives on.
async function rawLines() {
  const child = spawn(cli, serverArgs, { stdio: ['pipe', 'pipe', 'inherit'] });
  const replies = [];
  let buffer = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    buffer += d;
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      replies.push(JSON.parse(buffer.slice(0, i)));
      buffer = buffer.slice(i + 1);
    }
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const write = (data) => new Promise((resolve) => child.stdin.write(data, resolve));
  await write('this is not json\n');
  await write(Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x0a]));
  await write('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"' + 'x'.repeat(6 * 1024 * 1024) + '"}}\n');
  await write('{"jsonrpc":"2.0","id":2,"method":"no/such/method"}\n');
  await write('{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"start_workflow","arguments":"oops"}}\n');
  await write('[]\n');
  await write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
  // What a client answers to a line of ours it could not parse: a response,
  // which gets no reply (id null per JSON-RPC 2.0, or no id at all).
  await write('{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}\n');
  await write('{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"}}\n');
  await write('{"jsonrpc":"2.0","id":4,"method":"ping"}\n');
  child.stdin.end();
  const { code, signal } = await exited;
  check(code === 0 && signal === null, `server exits cleanly at end of input (code ${code}, signal ${signal})`);
  const codes = replies.map((r) => r.error?.code ?? 'ok');
  assert.deepEqual(codes, [-32700, -32700, -32600, -32601, -32602, -32600, 'ok'], 'one reply per bad line, then ping');
  check(replies.at(-1).id === 4, 'the ping after the bad lines is answered');
  checks++;
}

try {
  await withClient(mainFlow);
  await rawLines();
  console.log(`mcp e2e: all ${checks} checks passed`);
} catch (e) {
  console.error('mcp e2e FAILED:', e);
  process.exit(1);
}
