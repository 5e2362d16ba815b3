// Shows a letters job's progress while the page is open, and reloads the
// page when the job ends so its download link appears. Without JavaScript
// the page has a Refresh link and shows the same figures.
const box = document.querySelector("[data-progress-url]");
const count = document.getElementById("job-count");
const bar = document.getElementById("job-bar");
const EVERY_MS = 2000;

async function poll() {
  try {
    const response = await fetch(box.dataset.progressUrl, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (response.ok) {
      const job = await response.json();
      if (job.finished) {
        window.location.reload();
        return;
      }
      const total = job.total ? job.total.toLocaleString() : "…";
      count.textContent = `${job.progress.toLocaleString()} of ${total}`;
      bar.max = job.total || 1;
      bar.value = job.progress;
    }
  } catch {
    // Offline for a moment: the next round tries again.
  }
  setTimeout(poll, EVERY_MS);
}

if (box) setTimeout(poll, EVERY_MS);
