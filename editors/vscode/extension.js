// The sight extension: the grammar and language configuration are declared in package.json;
// everything else (diagnostics, hover, definition, references, completion, rename,
// formatting, quick fixes) comes from `sight lsp`, started here. Plain JavaScript: no build.
"use strict";

const vscode = require("vscode");
const { LanguageClient, RevealOutputChannelOn } = require("vscode-languageclient/node");

/** @type {LanguageClient | undefined} */
let client;

function serverCommand() {
  const configured = vscode.workspace.getConfiguration("sight").get("server.path");
  return typeof configured === "string" && configured.trim() !== "" ? configured.trim() : "sight";
}

async function start() {
  const command = serverCommand();
  const executable = { command, args: ["lsp"] };
  const serverOptions = { run: executable, debug: executable };
  const clientOptions = {
    documentSelector: [
      { scheme: "file", language: "sight" },
      { scheme: "file", pattern: "**/sight.toml" },
    ],
    // The server reads unopened files from disk; tell it when they change.
    synchronize: {
      fileEvents: vscode.workspace.createFileSystemWatcher("**/{*.sight,sight.toml}"),
    },
    revealOutputChannelOn: RevealOutputChannelOn.Never,
  };
  client = new LanguageClient("sight", "sight", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (error) {
    client = undefined;
    const message =
      `sight: cannot start \`${command} lsp\` (${error && error.message ? error.message : error}). ` +
      "Install sight (`cargo install --path .` in the sight repository) or set `sight.server.path`.";
    vscode.window.showErrorMessage(message);
  }
}

async function stop() {
  if (client) {
    const running = client;
    client = undefined;
    await running.stop();
  }
}

/** @param {vscode.ExtensionContext} context */
async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand("sight.restartServer", async () => {
      await stop();
      await start();
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("sight.server.path")) {
        await stop();
        await start();
      }
    }),
  );
  await start();
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate };
