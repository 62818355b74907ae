// The sandbox chat page: posts events, long-polls what the bot "sent".
"use strict";

const $ = (id) => document.getElementById(id);
const state = { mode: "user", last: 0, generation: 0 };

function newId() {
  // crypto.randomUUID needs a secure context; plain http on a LAN address is not one.
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
}

function userId() { return $("user").value.trim(); }
function groupId() { return $("group").value.trim(); }
function conversation() {
  return state.mode === "group" ? { kind: "group", id: groupId() } : { kind: "user", id: userId() };
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function show(node) {
  const log = $("log");
  log.appendChild(node);
  log.scrollTop = log.scrollHeight;
}

function renderCard(view, deliveryId) {
  const box = el("div", "msg bot card");
  box.appendChild(el("div", "title", view.title));
  if (view.description) box.appendChild(el("div", "desc", view.description));
  if (view.fields.length) {
    const dl = el("dl");
    for (const [key, value] of view.fields) {
      dl.appendChild(el("dt", "", key));
      dl.appendChild(el("dd", "", value));
    }
    box.appendChild(dl);
  }
  if (view.lines.length) box.appendChild(el("div", "lines", view.lines.join("\n")));
  if (view.buttons.length) {
    const row = el("div", "buttons");
    for (const button of view.buttons) {
      const b = el("button", button.style, button.text);
      b.type = "button";
      b.addEventListener("click", () => post({
        kind: "card_action", action_key: button.key, card_id: view.card_id || null,
        card_delivery: deliveryId,
      }, "［" + button.text + "］"));
      row.appendChild(b);
    }
    box.appendChild(row);
  }
  return box;
}

function renderView(view, deliveryId) {
  let node;
  if (view.kind === "card") {
    node = renderCard(view, deliveryId);
  } else if (view.kind === "image") {
    node = el("div", "msg bot");
    const img = el("img"); img.src = view.url; img.alt = view.filename;
    node.appendChild(img);
  } else if (view.kind === "file") {
    node = el("div", "msg bot");
    const a = el("a", "", "📎 " + view.filename); a.href = view.url; a.download = view.filename;
    node.appendChild(a);
  } else {
    node = el("div", "msg bot", view.text);
  }
  node.dataset.delivery = String(deliveryId);
  return node;
}

function deliver(message) {
  const node = renderView(message.view, message.id);
  const old = message.view.replaces &&
    document.querySelector('[data-delivery="' + message.view.replaces + '"]');
  if (old) old.replaceWith(node); else show(node);
}

async function post(fields, echo) {
  const user = userId();
  if (!user) { $("status").textContent = "请先填写成员的用户 ID"; return; }
  const body = { client_msg_id: newId(), user_id: user, ...fields };
  if (state.mode === "group") body.chat_id = groupId();
  show(el("div", "msg me", echo));
  // Retries reuse client_msg_id: the bot takes the message once.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const response = await fetch("/sandbox/api/events", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      if (response.status === 400) {
        show(el("div", "msg error", (await response.json()).error)); return;
      }
      if (response.ok) { $("status").textContent = ""; return; }
    } catch (err) { /* network: retry below */ }
    $("status").textContent = "发送失败，重试中…";
    await new Promise((r) => setTimeout(r, 1000 * (attempt + 1)));
  }
  show(el("div", "msg error", "发送失败：服务器无响应"));
}

async function poll(generation) {
  while (generation === state.generation) {
    const c = conversation();
    if (!c.id) { await new Promise((r) => setTimeout(r, 500)); continue; }
    try {
      const q = new URLSearchParams({ kind: c.kind, id: c.id, after: state.last, wait: 25 });
      const response = await fetch("/sandbox/api/messages?" + q);
      const data = await response.json();
      if (generation !== state.generation) return;
      for (const message of data.messages || []) {
        deliver(message);
        state.last = Math.max(state.last, message.id);
      }
    } catch (err) {
      $("status").textContent = "与服务器的连接中断，正在重连…";
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

function restart() {
  state.generation += 1;
  state.last = 0;
  $("log").replaceChildren();
  localStorage.setItem("sandbox.user", userId());
  poll(state.generation);
}

function setMode(mode) {
  state.mode = mode;
  $("tab-user").classList.toggle("active", mode === "user");
  $("tab-group").classList.toggle("active", mode === "group");
  $("group-box").hidden = mode !== "group";
  restart();
}

async function loadLists() {
  const fill = (list, items, label) => {
    list.replaceChildren(...items.map((item) => {
      const o = el("option"); o.value = item.value; o.label = label(item); return o;
    }));
  };
  const members = await (await fetch("/sandbox/api/members")).json();
  fill($("members"), members.map((m) => ({ value: m.user_id, ...m })),
    (m) => [m.name, m.department, m.role].filter(Boolean).join(" · "));
  const groups = await (await fetch("/sandbox/api/groups")).json();
  fill($("groups"), groups.map((g) => ({ value: g })), (g) => g.value);
}

$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("text").value;
  if (!text.trim()) return;
  $("text").value = "";
  post({ kind: "text", text }, text);
});
$("user").addEventListener("change", restart);
$("group").addEventListener("change", restart);
$("tab-user").addEventListener("click", () => setMode("user"));
$("tab-group").addEventListener("click", () => setMode("group"));
// ?user=ID opens the chat as that member (a bookmarkable link per tester).
$("user").value = new URLSearchParams(location.search).get("user") || localStorage.getItem("sandbox.user") || "";
loadLists();
restart();
