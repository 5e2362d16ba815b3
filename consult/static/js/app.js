// Progressive enhancement only: every page works without JavaScript.
// Relative, so it resolves under app.js's own fingerprinted folder (consult/assets.py).
import { initAll } from "../govuk/govuk-frontend.min.js";

document.body.classList.add("govuk-frontend-supported", "js-enabled");
initAll();

// A resume link carries its code in the fragment (#…), which the browser never
// sends: the code stays out of access logs. Post it as the form would.
const resumeForm = document.getElementById("resume-form");
if (resumeForm && window.location.hash.length > 1) {
  const code = decodeURIComponent(window.location.hash.slice(1)).replace(/[^0-9A-Za-z]/g, "");
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  const input = resumeForm.querySelector("#code");
  if (code && input) {
    input.value = code;
    resumeForm.requestSubmit();
  }
}
