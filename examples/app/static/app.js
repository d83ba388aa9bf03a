// The demo page: Better-Auth signs users in (through this app's /api/auth proxy), and the
// FastAPI API (/api/v1) answers with the same session cookie. Plain DOM, no framework.
"use strict";

const $ = (selector) => document.querySelector(selector);
let me = null;

class ApiError extends Error {
  constructor(status, body) {
    super(errorMessage(status, body));
    this.status = status;
    this.body = body;
  }
}

/** Our API answers {detail: {code, message}}, Better-Auth {code, message}, FastAPI 422 {detail: [...]}. */
function errorMessage(status, body) {
  const detail = body && typeof body === "object" ? body.detail ?? body : null;
  if (detail && typeof detail === "object" && !Array.isArray(detail) && detail.message) {
    return `${status} ${detail.code ?? ""}: ${detail.message}`;
  }
  if (Array.isArray(detail)) return `${status}: ${detail.map((d) => d.msg).join("; ")}`;
  return `${status}: ${typeof body === "string" && body ? body : "request failed"}`;
}

function logCall(method, path, status) {
  const item = document.createElement("li");
  item.className = status < 400 ? "ok" : "failed";
  item.textContent = `${method} ${path} → ${status}`;
  const calls = $("#calls");
  calls.prepend(item);
  while (calls.children.length > 12) calls.lastChild.remove();
}

/** One JSON call on this origin; the browser adds the session cookie and the Origin header. */
async function api(method, path, body) {
  const init = { method, headers: { accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  logCall(method, path, response.status);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function button(label, onClick, className) {
  const node = element("button", label, className);
  node.type = "button";
  node.addEventListener("click", async () => {
    node.disabled = true;
    $("#action-error").textContent = "";
    try {
      await onClick();
    } catch (error) {
      $("#action-error").textContent = error.message;
    } finally {
      node.disabled = false;
    }
  });
  return node;
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

function setStatus(text) {
  $("#status").textContent = text;
}

// -- who am I -------------------------------------------------------------------------------

async function refresh() {
  try {
    me = await api("GET", "/api/v1/auth/me");
  } catch (error) {
    me = null;
    if (!(error instanceof ApiError && error.status === 401)) {
      setStatus(`Could not reach the API: ${error.message}`);
    }
  }
  $("#signed-in").hidden = me === null;
  $("#signed-out").hidden = me !== null;
  if (me === null) {
    setStatus("Signed out.");
    $("#admin-card").hidden = true;
    return;
  }
  setStatus(`Signed in as ${me.email}.`);
  renderMe();
  await Promise.all([loadSessions(), loadUsers(), loadOrganizations()]);
}

function renderMe() {
  const summary = $("#me-summary");
  summary.replaceChildren();
  const rows = [
    ["Name", me.name],
    ["Email", me.email],
    ["User id", me.id],
    ["Role", me.role ?? "user"],
    ["Email verified", me.email_verified ? "yes" : "no"],
    ["Member since", when(me.created_at)],
  ];
  for (const [label, value] of rows) {
    summary.append(element("dt", label), element("dd", value));
  }
  $("#me-json").textContent = JSON.stringify(me, null, 2);
}

// -- sessions -------------------------------------------------------------------------------

async function loadSessions() {
  const path = `/api/v1/users/${encodeURIComponent(me.id)}/sessions`;
  $("#sessions-route").textContent = `GET ${path}`;
  const { sessions } = await api("GET", path);
  const body = $("#sessions tbody");
  body.replaceChildren();
  for (const session of sessions) {
    const row = document.createElement("tr");
    row.dataset.sessionId = session.id;
    const name = element("td");
    name.append(element("code", session.id.slice(0, 8) + "…"));
    if (session.current) name.append(" ", element("span", "this browser", "badge"));
    if (session.impersonated_by) name.append(" ", element("span", "impersonated", "badge warn"));
    const agent = session.user_agent || "—";
    const actions = element("td");
    actions.append(
      button("Revoke", async () => {
        await api("DELETE", `${path}/${encodeURIComponent(session.id)}`);
        if (session.current) await refresh();
        else await loadSessions();
      }, "danger"),
    );
    row.append(
      name,
      element("td", when(session.created_at)),
      element("td", when(session.expires_at)),
      element("td", session.ip_address || "—"),
      element("td", agent.length > 40 ? agent.slice(0, 40) + "…" : agent),
      actions,
    );
    body.append(row);
  }
}

// -- admin: users and bans -------------------------------------------------------------------

async function loadUsers() {
  const query = $("#users-query").value.trim();
  const params = new URLSearchParams({ limit: "50", sort_by: "created_at" });
  if (query) params.set("search", query);
  let page;
  try {
    page = await api("GET", `/api/v1/users?${params}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) {
      $("#admin-card").hidden = true; // not an admin: the API said so
      return;
    }
    throw error;
  }
  $("#admin-card").hidden = false;
  $("#users-total").textContent = `${page.total} user(s)`;
  const body = $("#users tbody");
  body.replaceChildren();
  for (const user of page.users) {
    const row = document.createElement("tr");
    row.dataset.email = user.email;
    const status = element("td");
    if (user.banned) {
      status.append(element("span", "banned", "badge danger"));
      const until = user.ban_expires ? ` until ${when(user.ban_expires)}` : "";
      status.append(" ", element("span", `${user.ban_reason ?? ""}${until}`, "muted"));
    } else {
      status.append(element("span", "active", "badge ok"));
    }
    const actions = element("td");
    const path = `/api/v1/users/${encodeURIComponent(user.id)}/ban`;
    if (user.id === me.id) {
      actions.append(element("span", "you", "muted"));
    } else if (user.banned) {
      actions.append(button("Unban", async () => {
        await api("DELETE", path);
        await loadUsers();
      }, "secondary"));
    } else {
      actions.append(button("Ban", async () => {
        const reason = $("#ban-reason").value.trim();
        await api("POST", path, reason ? { reason } : {});
        await loadUsers();
      }, "danger"));
    }
    row.append(element("td", user.email), element("td", user.name), element("td", user.role ?? "user"), status, actions);
    body.append(row);
  }
}

// -- organizations: Better-Auth creates them, our /api/v1/organizations routes manage members ----

let currentOrg = null;

async function loadOrganizations() {
  let found;
  try {
    ({ organizations: found } = await api("GET", "/api/v1/organizations"));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      $("#orgs-card").hidden = true; // the app runs without DEMO_ORGANIZATIONS=1
      return;
    }
    throw error;
  }
  $("#orgs-card").hidden = false;
  const list = $("#orgs");
  list.replaceChildren();
  for (const org of found) {
    const item = element("li");
    item.dataset.slug = org.slug;
    item.append(button(org.name, () => loadMembers(org), currentOrg?.id === org.id ? "" : "secondary"));
    list.append(item);
  }
  if (found.length === 0) list.append(element("li", "None yet: create one.", "muted"));
  const again = found.find((org) => org.id === currentOrg?.id) ?? found[0];
  if (again) await loadMembers(again);
  else $("#members tbody").replaceChildren();
}

async function loadMembers(org) {
  currentOrg = org;
  const path = `/api/v1/organizations/${encodeURIComponent(org.id)}/members`;
  const page = await api("GET", `${path}?limit=50`);
  $("#members-title").textContent = `${org.name}: ${page.total} member(s)`;
  const body = $("#members tbody");
  body.replaceChildren();
  for (const member of page.members) {
    const row = document.createElement("tr");
    row.dataset.email = member.user?.email ?? member.user_id;
    const actions = element("td");
    if (member.user_id === me.id) {
      actions.append(element("span", "you", "muted"));
    } else {
      const role = element("select");
      role.setAttribute("aria-label", "Role");
      for (const name of ["member", "admin", "owner"]) {
        const option = element("option", name);
        option.selected = member.role === name;
        role.append(option);
      }
      const memberPath = `${path}/${encodeURIComponent(member.id)}`;
      actions.append(
        role,
        button("Set role", async () => {
          await api("PUT", `${memberPath}/role`, { role: role.value });
          await loadMembers(org);
        }, "secondary"),
        button("Remove", async () => {
          await api("DELETE", memberPath);
          await loadMembers(org);
        }, "danger"),
      );
    }
    row.append(element("td", member.user?.email ?? "—"), element("td", member.user?.name ?? "—"), element("td", member.role), actions);
    body.append(row);
  }
}

// -- wiring ----------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("#auth-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const action = event.submitter?.dataset.action ?? "sign-in";
    const email = $("#auth-email").value.trim();
    const password = $("#auth-password").value;
    const name = $("#auth-name").value.trim() || email.split("@")[0];
    $("#auth-error").textContent = "";
    try {
      if (action === "sign-up") {
        await api("POST", "/api/auth/sign-up/email", { name, email, password });
      } else {
        await api("POST", "/api/auth/sign-in/email", { email, password });
      }
      $("#auth-password").value = "";
      await refresh();
    } catch (error) {
      $("#auth-error").textContent = error.message;
    }
  });
  $("#sign-out").addEventListener("click", async () => {
    await api("POST", "/api/auth/sign-out", {}).catch((error) => {
      $("#action-error").textContent = error.message;
    });
    await refresh();
  });
  $("#sessions-refresh").addEventListener("click", () => loadSessions().catch((e) => {
    $("#action-error").textContent = e.message;
  }));
  $("#users-search").addEventListener("submit", (event) => {
    event.preventDefault();
    loadUsers().catch((e) => {
      $("#action-error").textContent = e.message;
    });
  });
  $("#org-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = $("#org-name").value.trim();
    const slug = `${name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-${Date.now().toString(36)}`;
    try {
      await api("POST", "/api/auth/organization/create", { name, slug });
      $("#org-name").value = "";
      currentOrg = null;
      await loadOrganizations();
    } catch (error) {
      $("#action-error").textContent = error.message;
    }
  });
  refresh().catch((error) => setStatus(error.message));
  fetch("/static/demo.json").then((r) => r.json()).then((demo) => {
    if (demo.admin_email) $("#admin-hint").textContent = "The demo makes the user with DEMO_ADMIN_EMAIL an admin when they sign up.";
    else if (demo.first_user_admin) $("#admin-hint").textContent = "The demo makes the next user who signs up an admin while there is none.";
  }).catch(() => {});
});
