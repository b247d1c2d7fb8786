//! `sight lsp`: the language server, over stdio.
//!
//! Diagnostics come from [`crate::project::compile`], the checker the CLI runs, on the files of
//! the project with the open buffers laid over them: same codes, messages and spans. The rest
//! (hover, definition, references, completion, rename, formatting, code actions) reads the
//! compiled sources, the model and an index of names (`index`).
//!
//! The server is synchronous (`lsp-server`, no async runtime): each change recompiles the
//! project before the next message is read, and the project's files on disk are read once and
//! again only after saves and file events. The protocol crates stay inside this module.

mod actions;
mod complete;
mod hover;
mod index;
mod schema;
mod text;
mod workspace;

use std::collections::HashMap;
use std::path::PathBuf;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidChangeWatchedFiles, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument,
    Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    CodeActionRequest, Completion, Formatting, GotoDefinition, HoverRequest, PrepareRenameRequest, References, Rename,
    Request as _,
};
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CompletionItem, CompletionItemKind,
    CompletionList, CompletionParams, CompletionResponse, CompletionTextEdit, DidChangeTextDocumentParams,
    DidChangeWatchedFilesParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams, DidSaveTextDocumentParams,
    DocumentFormattingParams, Documentation, GotoDefinitionParams, GotoDefinitionResponse, Hover, HoverContents,
    HoverParams, MarkupContent, MarkupKind, PrepareRenameResponse, PublishDiagnosticsParams, ReferenceParams,
    RenameParams, TextDocumentPositionParams, TextEdit, Uri, WorkspaceEdit,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use self::complete::ItemKind;
use self::text::{uri_to_path, LineIndex};
use self::workspace::{Files, Publish, Workspace};

/// Runs the server on stdin/stdout until the client says `exit`. The exit code follows the
/// protocol: 0 after `shutdown`, 1 otherwise.
pub fn run() -> u8 {
    let (connection, io_threads) = Connection::stdio();
    let code = serve(&connection);
    drop(connection);
    let _ = io_threads.join();
    code
}

fn capabilities() -> serde_json::Value {
    serde_json::json!({
        "positionEncoding": "utf-16",
        "textDocumentSync": { "openClose": true, "change": 1, "save": { "includeText": false } },
        "hoverProvider": true,
        "definitionProvider": true,
        "referencesProvider": true,
        "completionProvider": { "triggerCharacters": [".", ":"] },
        "renameProvider": { "prepareProvider": true },
        "documentFormattingProvider": true,
        "codeActionProvider": { "codeActionKinds": ["quickfix"] },
    })
}

/// The message loop over any connection (stdio, or in memory in tests).
pub fn serve(connection: &Connection) -> u8 {
    let init = serde_json::json!({
        "capabilities": capabilities(),
        "serverInfo": { "name": "sight", "version": env!("CARGO_PKG_VERSION") },
    });
    let Ok((id, _params)) = connection.initialize_start() else { return 1 };
    if connection.initialize_finish(id, init).is_err() {
        return 1;
    }
    let mut server = Server { workspace: Workspace::default(), connection };
    while let Ok(message) = connection.receiver.recv() {
        match message {
            Message::Request(request) => {
                if request.method == "shutdown" {
                    return match connection.handle_shutdown(&request) {
                        Ok(true) => 0,
                        _ => 1,
                    };
                }
                server.flush();
                server.request(request);
            }
            Message::Notification(notification) => {
                if notification.method == "exit" {
                    return 1;
                }
                server.notification(notification);
                server.flush();
            }
            Message::Response(_) => {}
        }
    }
    1
}

struct Server<'c> {
    workspace: Workspace,
    connection: &'c Connection,
}

fn params<P: DeserializeOwned>(value: serde_json::Value) -> Option<P> {
    serde_json::from_value(value).ok()
}

fn position_of(params: &TextDocumentPositionParams) -> Option<(PathBuf, lsp_types::Position)> {
    Some((uri_to_path(&params.text_document.uri)?, params.position))
}

impl Server<'_> {
    fn send(&self, message: Message) {
        let _ = self.connection.sender.send(message);
    }

    fn publish(&self, publishes: Vec<Publish>) {
        for p in publishes {
            let params = PublishDiagnosticsParams { uri: p.uri, diagnostics: p.diagnostics, version: p.version };
            self.send(Notification::new(PublishDiagnostics::METHOD.to_string(), params).into());
        }
    }

    /// Recompiles what changed and publishes the diagnostics.
    fn flush(&mut self) {
        if self.workspace.is_dirty() {
            let publishes = self.workspace.flush();
            self.publish(publishes);
        }
    }

    fn notification(&mut self, n: Notification) {
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let Some(p) = params::<DidOpenTextDocumentParams>(n.params) else { return };
                if let Some(path) = uri_to_path(&p.text_document.uri) {
                    self.workspace.open(p.text_document.uri, path, p.text_document.text, p.text_document.version);
                }
            }
            DidChangeTextDocument::METHOD => {
                let Some(p) = params::<DidChangeTextDocumentParams>(n.params) else { return };
                let (Some(path), Some(change)) =
                    (uri_to_path(&p.text_document.uri), p.content_changes.into_iter().last())
                else {
                    return;
                };
                self.workspace.change(&path, change.text, p.text_document.version);
            }
            DidCloseTextDocument::METHOD => {
                let Some(p) = params::<DidCloseTextDocumentParams>(n.params) else { return };
                if let Some(path) = uri_to_path(&p.text_document.uri) {
                    let cleared = self.workspace.close(&path);
                    self.publish(cleared);
                }
            }
            DidSaveTextDocument::METHOD => {
                let Some(p) = params::<DidSaveTextDocumentParams>(n.params) else { return };
                if let Some(path) = uri_to_path(&p.text_document.uri) {
                    self.workspace.files_changed(&path);
                }
            }
            DidChangeWatchedFiles::METHOD => {
                let Some(p) = params::<DidChangeWatchedFilesParams>(n.params) else { return };
                for change in p.changes {
                    if let Some(path) = uri_to_path(&change.uri) {
                        self.workspace.files_changed(&path);
                    }
                }
            }
            _ => {}
        }
    }

    fn request(&mut self, request: Request) {
        let Request { id, method, params: value } = request;
        let result = match method.as_str() {
            HoverRequest::METHOD => params(value).map(|p| to_json(self.hover(p))),
            GotoDefinition::METHOD => params(value).map(|p| to_json(self.definition(p))),
            References::METHOD => params(value).map(|p| to_json(self.references(p))),
            Completion::METHOD => params(value).map(|p| to_json(self.completion(p))),
            PrepareRenameRequest::METHOD => params(value).map(|p| to_json(self.prepare_rename(p))),
            Rename::METHOD => match params::<RenameParams>(value) {
                Some(p) => match self.rename(p) {
                    Ok(edit) => Some(to_json(edit)),
                    Err(message) => {
                        self.send(Response::new_err(id, ErrorCode::InvalidParams as i32, message).into());
                        return;
                    }
                },
                None => None,
            },
            Formatting::METHOD => params(value).map(|p| to_json(self.formatting(p))),
            CodeActionRequest::METHOD => params(value).map(|p| to_json(self.code_actions(p))),
            _ => {
                self.reply_error(id, ErrorCode::MethodNotFound, format!("sight does not handle `{method}`"));
                return;
            }
        };
        match result {
            Some(result) => self.send(Response { id, response_result: Ok(result) }.into()),
            None => self.reply_error(id, ErrorCode::InvalidParams, format!("invalid parameters for `{method}`")),
        }
    }

    fn reply_error(&self, id: RequestId, code: ErrorCode, message: String) {
        self.send(Response::new_err(id, code as i32, message).into());
    }

    fn hover(&mut self, p: HoverParams) -> Option<Hover> {
        let (path, position) = position_of(&p.text_document_position_params)?;
        self.workspace
            .with_view(&path, |view, file, files| {
                let offset = files.offset(file, position);
                let (text, span) = hover::hover(view, file, offset)?;
                Some(Hover {
                    contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: text }),
                    range: Some(files.range(span)),
                })
            })
            .flatten()
    }

    fn definition(&mut self, p: GotoDefinitionParams) -> Option<GotoDefinitionResponse> {
        let (path, position) = position_of(&p.text_document_position_params)?;
        self.workspace
            .with_view(&path, |view, file, files| {
                let offset = files.offset(file, position);
                let symbol = view.index.symbol_at(file, offset)?;
                let locations: Vec<lsp_types::Location> =
                    view.index.decls.get(symbol)?.iter().filter_map(|d| files.location(d.span)).collect();
                match locations.len() {
                    0 => None,
                    1 => locations.into_iter().next().map(GotoDefinitionResponse::Scalar),
                    _ => Some(GotoDefinitionResponse::Array(locations)),
                }
            })
            .flatten()
    }

    fn references(&mut self, p: ReferenceParams) -> Option<Vec<lsp_types::Location>> {
        let (path, position) = position_of(&p.text_document_position)?;
        let include = p.context.include_declaration;
        self.workspace
            .with_view(&path, |view, file, files| {
                let offset = files.offset(file, position);
                let symbol = view.index.symbol_at(file, offset)?;
                Some(view.index.spans_of(symbol, include).into_iter().filter_map(|s| files.location(s)).collect())
            })
            .flatten()
    }

    fn completion(&mut self, p: CompletionParams) -> Option<CompletionResponse> {
        let (path, position) = position_of(&p.text_document_position)?;
        self.workspace.with_view(&path, |view, file, files| {
            let offset = files.offset(file, position);
            let result = complete::complete(view, view.text(file), offset);
            let range = files.range(crate::source::Span::new(file, result.start, offset));
            let items = result
                .items
                .into_iter()
                .map(|item| CompletionItem {
                    kind: Some(match item.kind {
                        ItemKind::Keyword => CompletionItemKind::KEYWORD,
                        ItemKind::Kind => CompletionItemKind::CLASS,
                        ItemKind::Field => CompletionItemKind::FIELD,
                        ItemKind::Reference => CompletionItemKind::REFERENCE,
                        ItemKind::Secret => CompletionItemKind::CONSTANT,
                        ItemKind::Step => CompletionItemKind::EVENT,
                        ItemKind::Url => CompletionItemKind::PROPERTY,
                        ItemKind::StepKind => CompletionItemKind::FUNCTION,
                    }),
                    detail: Some(item.detail),
                    documentation: (!item.doc.is_empty()).then_some(Documentation::MarkupContent(MarkupContent {
                        kind: MarkupKind::Markdown,
                        value: item.doc,
                    })),
                    text_edit: Some(CompletionTextEdit::Edit(TextEdit {
                        range,
                        new_text: item.insert.unwrap_or_else(|| item.label.clone()),
                    })),
                    filter_text: Some(item.label.clone()),
                    label: item.label,
                    ..CompletionItem::default()
                })
                .collect();
            CompletionResponse::List(CompletionList { is_incomplete: false, items })
        })
    }

    fn prepare_rename(&mut self, p: TextDocumentPositionParams) -> Option<PrepareRenameResponse> {
        let (path, position) = position_of(&p)?;
        self.workspace
            .with_view(&path, |view, file, files| {
                let offset = files.offset(file, position);
                let occurrence = view.index.at(file, offset)?;
                let symbol = match &occurrence.occ {
                    index::Occ::Decl(s) | index::Occ::Ref(s) => s,
                    _ => return None,
                };
                let renamable =
                    matches!(symbol, index::Symbol::Entity(_) | index::Symbol::Secret(_) | index::Symbol::Step(..));
                renamable.then(|| PrepareRenameResponse::RangeWithPlaceholder {
                    range: files.range(occurrence.span),
                    placeholder: symbol.name().to_string(),
                })
            })
            .flatten()
    }

    fn rename(&mut self, p: RenameParams) -> Result<Option<WorkspaceEdit>, String> {
        let Some((path, position)) = position_of(&p.text_document_position) else { return Ok(None) };
        let new_name = p.new_name;
        self.workspace
            .with_view(&path, |view, file, files| {
                let offset = files.offset(file, position);
                let Some(symbol) = view.index.symbol_at(file, offset) else {
                    return Err("there is nothing to rename here".to_string());
                };
                if let Some(error) = actions::rename_error(view, symbol, &new_name) {
                    return Err(error);
                }
                Ok(Some(workspace_edit(files, actions::rename(view, symbol, &new_name))))
            })
            .unwrap_or(Ok(None))
    }

    fn formatting(&mut self, p: DocumentFormattingParams) -> Option<Vec<TextEdit>> {
        let path = uri_to_path(&p.text_document.uri)?;
        let text = &self.workspace.docs.get(&path)?.text;
        let formatted = crate::format::format_source(text)?;
        if formatted == *text {
            return Some(Vec::new());
        }
        let lines = LineIndex::new(text);
        Some(vec![TextEdit { range: lines.range(0, text.len()), new_text: formatted }])
    }

    fn code_actions(&mut self, p: CodeActionParams) -> Option<Vec<CodeActionOrCommand>> {
        let path = uri_to_path(&p.text_document.uri)?;
        let range = p.range;
        self.workspace.with_view(&path, |view, file, files| {
            let start = files.offset(file, range.start);
            let end = files.offset(file, range.end);
            actions::code_actions(view, file, start, end)
                .into_iter()
                .map(|action| {
                    let diagnostic = lsp_types::Diagnostic {
                        range: action.diagnostic.primary.as_ref().map(|l| files.range(l.span)).unwrap_or_default(),
                        code: Some(lsp_types::NumberOrString::String(action.diagnostic.code.code.to_string())),
                        source: Some("sight".to_string()),
                        message: action.diagnostic.message.clone(),
                        ..lsp_types::Diagnostic::default()
                    };
                    CodeActionOrCommand::CodeAction(CodeAction {
                        title: action.title,
                        kind: Some(CodeActionKind::QUICKFIX),
                        diagnostics: Some(vec![diagnostic]),
                        edit: Some(workspace_edit(files, action.edits)),
                        is_preferred: Some(true),
                        ..CodeAction::default()
                    })
                })
                .collect()
        })
    }
}

// `Uri` caches its parsed parts inside; its hash and equality read only the text.
#[allow(clippy::mutable_key_type)]
fn workspace_edit(files: &mut Files, edits: Vec<actions::Edit>) -> WorkspaceEdit {
    let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
    for edit in edits {
        if let Some(uri) = files.uri(edit.span.file) {
            let range = files.range(edit.span);
            changes.entry(uri).or_default().push(TextEdit { range, new_text: edit.text });
        }
    }
    WorkspaceEdit { changes: Some(changes), ..WorkspaceEdit::default() }
}

fn to_json<T: Serialize>(value: T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}
