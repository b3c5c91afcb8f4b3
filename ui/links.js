// Old approval links (/#ap_…, from before each approval had its own page) open that approval's page.
// Loaded on every page, signed in or not: signed out, the approval's page sends the browser to sign-in and back.
(() => {
  const match = /^#(ap_[0-9a-f]{16})$/.exec(window.location.hash);
  if (match && window.location.pathname === '/') window.location.replace(`/approvals/${match[1]}`);
})();
