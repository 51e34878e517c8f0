// Small behaviours that must work under a strict Content-Security-Policy (no inline script).
document.addEventListener("change", (event) => {
  const target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit")) {
    target.form.requestSubmit();
  }
});

// Close the search results when the user presses Escape in the box.
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && event.target.id === "global-search") {
    document.getElementById("search-results").replaceChildren();
  }
});
