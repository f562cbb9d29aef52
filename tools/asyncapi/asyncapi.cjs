#!/usr/bin/env node
// The official AsyncAPI tools on the contract (installed by `make asyncapi-tools`):
//
//   node asyncapi.cjs check <asyncapi.json>
//     @asyncapi/parser: prints one JSON object — the diagnostics counted by severity, each
//     diagnostic, and the messages, channels and operations as the parser reads them.
//   node asyncapi.cjs html <asyncapi.json> <folder>
//     @asyncapi/generator with @asyncapi/html-template: the HTML documentation (index.html,
//     css/, js/ — no file from the internet), written into <folder>.
'use strict';

const fs = require('fs');
const path = require('path');

const SEVERITIES = ['errors', 'warnings', 'infos', 'hints'];

async function check(file) {
  const { Parser, fromFile } = require('@asyncapi/parser');
  const { document, diagnostics } = await fromFile(new Parser(), file).parse();
  const counts = Object.fromEntries(SEVERITIES.map((name) => [name, 0]));
  for (const diagnostic of diagnostics) counts[SEVERITIES[diagnostic.severity]] += 1;
  const report = {
    parser: require('@asyncapi/parser/package.json').version,
    ...counts,
    diagnostics: diagnostics.map((d) => ({
      severity: SEVERITIES[d.severity],
      code: d.code,
      message: d.message,
      path: d.path.join('/'),
    })),
    messages: [],
    channels: [],
    operations: [],
  };
  if (document) {
    report.version = document.info().version();
    report.messages = document.components().messages().all().map((message) => ({
      id: message.id(),
      name: message.name(),
      title: message.title(),
      summary: message.summary(),
      examples: message.examples().length,
      headers: message.hasHeaders() ? Object.keys(message.headers().properties() || {}) : [],
      key: message.bindings().has('kafka') ? message.bindings().get('kafka').value().key : null,
    }));
    report.channels = document.channels().all().map((channel) => ({
      id: channel.id(),
      address: channel.address(),
      messages: channel.messages().all().map((message) => message.id()),
    }));
    report.operations = document.operations().all().map((operation) => ({
      id: operation.id(),
      action: operation.action(),
      channels: operation.channels().all().map((channel) => channel.address()),
      messages: operation.messages().all().map((message) => message.id()),
    }));
    report.security = document.servers().all().map((server) => ({
      server: server.id(),
      protocol: server.protocol(),
      schemes: server.security().flatMap((requirement) =>
        requirement.all().map((item) => item.scheme().type())),
    }));
  }
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
}

async function html(file, folder) {
  const Generator = require('@asyncapi/generator');
  const target = path.resolve(folder);
  fs.mkdirSync(target, { recursive: true });
  const generator = new Generator('@asyncapi/html-template', target, {
    forceWrite: true,
    templateParams: {
      singleFile: 'false',
      sidebarOrganization: 'byTags',
      // Every message with its example, open, in the Messages section too (the platform-only
      // decisions have no operation of a county system to show them under).
      config: JSON.stringify({ show: { messageExamples: true }, expand: { messageExamples: true } }),
    },
  });
  await generator.generateFromFile(path.resolve(file));
  process.stdout.write(`${path.join(target, 'index.html')}\n`);
}

async function main() {
  const [command, ...args] = process.argv.slice(2);
  if (command === 'check' && args.length === 1) return check(args[0]);
  if (command === 'html' && args.length === 2) return html(args[0], args[1]);
  process.stderr.write('usage: asyncapi.cjs check <asyncapi.json> | html <asyncapi.json> <folder>\n');
  process.exit(2);
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
