// Prints the TextMate scopes of every token of .sight files, with the engine VS Code uses:
//   npm install --no-save vscode-textmate@9 vscode-oniguruma@2
//   node scripts/tokenize.js syntaxes/sight.tmLanguage.json ../../examples/sight-platform/*.sight
// A development aid for editing the grammar; CI checks the grammar's structure in Rust
// (tests/it/lsp.rs).
const fs = require("fs");
const path = require("path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");
const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm")).buffer;
const onigLib = oniguruma.loadWASM(wasm).then(() => ({
  createOnigScanner: (p) => new oniguruma.OnigScanner(p),
  createOnigString: (s) => new oniguruma.OnigString(s),
}));
const grammarPath = process.argv[2];
const registry = new vsctm.Registry({
  onigLib,
  loadGrammar: async (scope) => scope === "source.sight" ? vsctm.parseRawGrammar(fs.readFileSync(grammarPath, "utf8"), grammarPath) : null,
});
(async () => {
  const grammar = await registry.loadGrammar("source.sight");
  const out = [];
  for (const file of process.argv.slice(3)) {
    let rule = vsctm.INITIAL;
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
      const r = grammar.tokenizeLine(line, rule);
      for (const t of r.tokens) {
        const text = line.substring(t.startIndex, t.endIndex);
        if (text.trim() === "") continue;
        out.push([text, t.scopes.slice(1).join(" ")]);
      }
      rule = r.ruleStack;
    }
  }
  for (const [text, scopes] of out) {
    console.log(`${JSON.stringify(text).padEnd(40)} ${scopes}`);
  }
})();
