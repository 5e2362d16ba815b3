// Keeps the fieldwork monitor's figures current while the page is open.
// Without JavaScript the page has a Refresh link and shows the same figures.
const live = document.querySelector("[data-refresh-url]");
const status = document.getElementById("live-status");
const EVERY_MS = 30000;

async function refresh() {
  if (document.hidden) return;
  try {
    const response = await fetch(live.dataset.refreshUrl, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) return;
    const data = await response.json();
    // Server-rendered, autoescaped HTML from our own template.
    live.innerHTML = data.html;
    if (status) status.textContent = `Figures as of ${new Date().toLocaleTimeString()}.`;
  } catch {
    // Offline for a moment: the next round tries again.
  }
}

if (live) setInterval(refresh, EVERY_MS);
