// The course website's navigation (lessons/site.py): the menu button that shows the
// sidebar on narrow screens, and the search box, Pagefind's UI over the index that
// site.py builds into pagefind/. Without scripts the sidebar is simply shown above
// the page.
(function () {
  "use strict";
  const root = new URL("..", document.currentScript.src);   // the site's folder

  const button = document.querySelector(".site-menu-button");
  const sidebar = document.getElementById("site-sidebar");
  document.documentElement.classList.add("site-js");
  button.hidden = false;
  button.addEventListener("click", () => {
    const open = document.body.classList.toggle("site-menu-open");
    button.setAttribute("aria-expanded", String(open));
  });
  sidebar.addEventListener("click", event => {     // a section link closes the menu
    if (event.target.closest("a")) {
      document.body.classList.remove("site-menu-open");
      button.setAttribute("aria-expanded", "false");
    }
  });

  const search = document.getElementById("site-search");
  if (root.protocol === "file:") {
    // Pagefind loads its index with fetch() and a WebAssembly module, which browsers
    // refuse to pages opened from disk.
    search.innerHTML = "<p class='site-search-note'>Search works when the site is served, " +
      "e.g. <code>python3 -m http.server -d build/site</code>, then http://localhost:8000.</p>";
  } else if (window.PagefindUI) {
    new window.PagefindUI({
      element: "#site-search", bundlePath: root.pathname + "pagefind/",
      baseUrl: root.pathname, showSubResults: true, showImages: false, resetStyles: false,
      translations: { placeholder: "Search the course" },
    });
  }
})();
