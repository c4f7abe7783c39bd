// SP-1 web UI: JSON-RPC over HTTPS to /ubus; the session comes from rpcd's login (admin).
"use strict";
let sid = "00000000000000000000000000000000";
async function rpc(object, method, params) {
  const r = await fetch("/ubus", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "call", params: [sid, object, method, params || {}] }),
  });
  const j = await r.json();
  if (!j.result || j.result[0] !== 0) throw new Error("request refused");
  return j.result[1];
}
document.getElementById("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const s = await rpc("session", "login", { username: "admin", password: f.get("password") });
  sid = s.ubus_rpc_session;
  e.target.hidden = true;
  document.getElementById("plug").hidden = false;
  const st = await rpc("plugd", "status");
  document.getElementById("watts").textContent = st.watts;
});
document.getElementById("toggle").addEventListener("click", () => rpc("plugd", "toggle"));
