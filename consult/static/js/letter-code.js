// The code page opened from a letter's QR code or short link
// (/s/<slug>/l#code=ABCDE-FGHJK): the code travels in the URL fragment,
// which the browser never sends, so no server or log sees it. Copy it into
// the field, then drop it from the address bar and history.
const field = document.getElementById("code");
const match = /(?:^#|&)code=([^&]*)/.exec(window.location.hash);
if (field && match) {
  const code = decodeURIComponent(match[1]).replace(/[^0-9A-Za-z-]/g, "").slice(0, 60);
  if (code && !field.value) field.value = code;
  history.replaceState(null, "", window.location.pathname + window.location.search);
}
