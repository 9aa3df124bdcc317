/* CraftStage approval page, the nicer path: decisions update in place, approve-all asks in a dialog,
   results are announced, and focus never ends up under the sticky progress bar. Without this script
   every action still works through plain forms and redirects, and the enlarged proof through #view-… */
(function () {
  "use strict";

  var main = document.getElementById("main");
  if (!main || !window.fetch || !window.URLSearchParams) {
    return;
  }
  var root = document.documentElement;
  var announcer = document.getElementById("announce");
  var announceTimer = null;
  var GAP = 8; /* px kept free around a focused control */

  /* ---- the sticky bar's height, for scroll-padding and for focus */

  function bar() {
    return document.getElementById("progress");
  }

  /* The bar's height, as the browser lays it out (a ResizeObserver reports it after layout, so nothing
     here forces a layout of a long page), goes into the page's scroll-padding. */
  var barHeight = 0;
  var barWatch = window.ResizeObserver
    ? new ResizeObserver(function (entries) {
        var entry = entries[entries.length - 1];
        var box = entry.borderBoxSize && entry.borderBoxSize[0];
        var h = Math.ceil(box ? box.blockSize : entry.target.offsetHeight);
        if (h && h !== barHeight) {
          barHeight = h;
          root.style.scrollPaddingTop = "calc(" + h + "px + 0.75rem)";
        }
      })
    : null;

  function measureBar() {
    var b = bar();
    if (b && barWatch) {
      barWatch.disconnect();
      barWatch.observe(b);
    }
  }

  /* The part of the window that nothing covers: below the sticky bar (where it sticks), down to the
     window's bottom edge. */
  function freeArea() {
    var top = 0;
    var b = bar();
    if (b) {
      var r = b.getBoundingClientRect();
      if (r.top <= 1 && r.bottom > 0) {
        top = r.bottom;
      }
    }
    return { top: top, bottom: window.innerHeight };
  }

  /* Scroll as little as needed so that `el` is wholly in the free area. */
  function ensureVisible(el) {
    if (!el || !el.getBoundingClientRect || el.closest(".viewer, dialog")) {
      return;
    }
    var r = el.getBoundingClientRect();
    var area = freeArea();
    if (r.top < area.top + GAP) {
      window.scrollBy(0, r.top - area.top - GAP);
    } else if (r.bottom > area.bottom - GAP) {
      window.scrollBy(0, Math.min(r.bottom - area.bottom + GAP, r.top - area.top - GAP));
    }
  }

  function focusInView(el) {
    if (!el) {
      return;
    }
    el.focus({ preventScroll: true });
    ensureVisible(el);
  }

  document.addEventListener("focusin", function (event) {
    ensureVisible(event.target);
  });

  /* ---- the rest of a long list: the page writes it in <noscript> blocks (whole without this script);
     here they become cards a block per frame, so no single task parses and lays out 100 cards */

  function noscriptHtml(holder) {
    return holder.children.length ? holder.innerHTML : holder.textContent;
  }

  /* A card of a block writes its note field and enlarged image plainly (<noscript> cannot nest): they
     are held as text again before the card joins the page, as the first cards' are (a text field
     added to the page costs a layout of it). */
  function hold(el, cls) {
    var holder = document.createElement("noscript");
    holder.className = cls;
    holder.textContent = el.outerHTML;
    el.replaceWith(holder);
  }

  function addBlock(holder) {
    var tpl = document.createElement("template");
    tpl.innerHTML = noscriptHtml(holder);
    Array.prototype.forEach.call(tpl.content.querySelectorAll("textarea[data-limit]"), function (el) {
      hold(el, "js-note");
    });
    Array.prototype.forEach.call(tpl.content.querySelectorAll(".viewer-pane img"), function (el) {
      hold(el, "js-view");
    });
    var ol = tpl.content.querySelector("ol");
    var list = document.getElementById("items-list");
    if (ol && list) {
      list.append.apply(list, Array.prototype.slice.call(ol.children));
    }
    holder.remove();
  }

  function moreAdded() {
    var note = document.querySelector(".js-more-note");
    if (note) {
      note.remove();
    }
    var target = location.hash && document.getElementById(location.hash.slice(1));
    if (target && target.classList.contains("card") && !window.scrollY) {
      target.scrollIntoView(); /* a link to an item further down the page */
    }
  }

  function addAllCards() {
    Array.prototype.forEach.call(document.querySelectorAll("noscript.js-more"), addBlock);
    moreAdded();
  }

  function addNextCards() {
    var holder = document.querySelector("noscript.js-more");
    if (!holder) {
      moreAdded();
      return;
    }
    addBlock(holder);
    requestAnimationFrame(function () {
      setTimeout(addNextCards, 0);
    });
  }

  /* after the page has loaded (its first proofs drawn), so the blocks never compete with it */
  if (document.readyState === "complete") {
    addNextCards();
  } else {
    window.addEventListener("load", function () {
      setTimeout(addNextCards, 0);
    });
  }

  /* ---- fragments and messages */

  function fromHtml(html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = String(html).trim();
    return tpl.content.firstElementChild;
  }

  function swap(id, html) {
    var old = document.getElementById(id);
    if (!old || html === undefined || html === null) {
      return null;
    }
    var fresh = fromHtml(html);
    if (fresh) {
      old.replaceWith(fresh);
    }
    return fresh;
  }

  function swapAll(d) {
    swap("intro", d.intro);
    swap("progress", d.progress);
    swap("bulk", d.bulk);
    swap("summary", d.summary);
    measureBar();
  }

  /* Results are read out by the live region; what the customer sees sits in the page's flow (in the
     card, or at the top), so no floating message ever covers a control. */
  function announce(text) {
    if (!announcer || !text) {
      return;
    }
    announcer.textContent = "";
    clearTimeout(announceTimer);
    announceTimer = setTimeout(function () {
      announcer.textContent = text;
    }, 50);
  }

  function showTop(text, level) {
    var area = document.getElementById("flash");
    if (!area) {
      return;
    }
    area.replaceChildren();
    if (text) {
      var p = document.createElement("p");
      p.className = "flash flash-" + (level || "info");
      p.textContent = text;
      area.appendChild(p);
    }
  }

  function setBusy(form, busy) {
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) {
      b.disabled = busy;
    });
    form.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function post(form) {
    return fetch(form.action, {
      method: "POST",
      headers: { Accept: "application/json" },
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
      redirect: "error",
    }).then(function (res) {
      var type = res.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === -1) {
        throw new Error("not json");
      }
      return res.json().then(function (data) {
        return { status: res.status, data: data };
      });
    });
  }

  function showFieldError(form, message) {
    var area = form.querySelector("textarea");
    var err = form.querySelector(".field-error");
    if (!err) {
      err = document.createElement("p");
      err.className = "field-error";
      err.id = area ? "error-" + area.id.replace("note-", "") : "";
      form.insertBefore(err, form.querySelector(".btn-send"));
    }
    err.textContent = message;
    if (area) {
      area.setAttribute("aria-invalid", "true");
      var ids = (area.getAttribute("aria-describedby") || "").split(" ");
      if (err.id && ids.indexOf(err.id) === -1) {
        ids.push(err.id);
        area.setAttribute("aria-describedby", ids.join(" ").trim());
      }
      focusInView(area);
    }
  }

  function onDecide(form) {
    var card = form.closest(".card");
    setBusy(form, true);
    post(form)
      .then(function (r) {
        var d = r.data;
        if (r.status === 422 && d.field === "note") {
          setBusy(form, false);
          showFieldError(form, d.message);
          return;
        }
        swapAll(d);
        var fresh = d.card && card ? swap(card.id, d.card) : null;
        if (!d.card) {
          setBusy(form, false);
        }
        if (fresh && fresh.querySelector(".flash")) {
          fresh.querySelector(".flash").removeAttribute("role"); /* the live region says it, once */
        }
        announce(d.message);
        if (fresh) {
          focusInView(fresh.querySelector(".card-title"));
        }
      })
      .catch(function () {
        form.submit(); /* fall back to the plain form */
      });
  }

  /* ---- approve all: a dialog that lists what will be approved */

  var dialog = document.getElementById("confirm-all");
  var dialogOpener = null;

  function openCards() {
    return Array.prototype.slice.call(document.querySelectorAll('.card[data-state="open"]'));
  }

  function onApproveAll(form) {
    addAllCards();
    var cards = openCards();
    if (!dialog || typeof dialog.showModal !== "function" || !cards.length) {
      form.submit(); /* no <dialog>: the confirmation page asks instead */
      return;
    }
    var confirmForm = dialog.querySelector("form");
    var n = cards.length;
    confirmForm.querySelector('[name="shown"]').value = cards
      .map(function (c) {
        return c.getAttribute("data-item") + ":" + c.getAttribute("data-version");
      })
      .join(",");
    var list = dialog.querySelector(".js-list");
    list.replaceChildren.apply(
      list,
      cards.map(function (c) {
        var li = document.createElement("li");
        var name = document.createElement("span");
        name.className = "confirm-values";
        name.textContent = c.getAttribute("data-label");
        li.appendChild(name);
        return li;
      })
    );
    dialog.querySelector(".js-count").textContent = n + " remaining";
    dialog.querySelector(".js-confirm").textContent = "Yes, approve all " + n;
    dialogOpener = form.querySelector("button");
    dialog.showModal();
    dialog.querySelector(".js-cancel").focus();
  }

  function onConfirmAll(form) {
    setBusy(form, true);
    post(form)
      .then(function (r) {
        var d = r.data;
        swap("items", d.items);
        swapAll(d);
        setBusy(form, false);
        dialog.close();
        showTop(d.message, d.level || (d.ok ? "success" : "warning"));
        announce(d.message);
        var target = document.querySelector("#summary .end h2") || document.querySelector(".progress-title");
        if (target) {
          target.setAttribute("tabindex", "-1");
          focusInView(target);
        }
      })
      .catch(function () {
        form.submit();
      });
  }

  if (dialog) {
    dialog.addEventListener("close", function () {
      if (dialogOpener && document.contains(dialogOpener)) {
        focusInView(dialogOpener);
      }
      dialogOpener = null;
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) {
      return;
    }
    if (form.classList.contains("js-decide")) {
      event.preventDefault();
      onDecide(form);
    } else if (form.classList.contains("js-approve-all")) {
      event.preventDefault();
      onApproveAll(form);
    } else if (form.classList.contains("js-approve-all-confirm")) {
      event.preventDefault();
      onConfirmAll(form);
    }
  });

  /* ---- the enlarged proof: opened in place; Close, Escape and the phone's Back button return to the
     very spot the customer left (the page never reloads, so an unsent note stays as typed) */

  var openViewer = null;
  var viewerScroll = 0;

  /* The view's image is written in <noscript> (see the page): made an image when the view opens. */
  function viewerImage(viewer) {
    var holder = viewer && viewer.querySelector("noscript.js-view");
    if (holder) {
      var tpl = document.createElement("template");
      tpl.innerHTML = holder.children.length ? holder.innerHTML : holder.textContent;
      holder.replaceWith(tpl.content);
    }
  }

  function showViewer(viewer) {
    viewerImage(viewer);
    viewerScroll = window.scrollY;
    openViewer = viewer;
    viewer.classList.add("is-open");
    viewer.setAttribute("aria-modal", "true");
    history.pushState({ viewer: viewer.id }, "", "#" + viewer.id);
    var close = viewer.querySelector(".viewer-close");
    if (close) {
      close.focus({ preventScroll: true });
    }
  }

  function hideViewer() {
    var viewer = openViewer;
    if (!viewer) {
      return;
    }
    openViewer = null;
    viewer.classList.remove("is-open");
    viewer.removeAttribute("aria-modal");
    window.scrollTo(0, viewerScroll);
    var link = viewer.closest(".card") && viewer.closest(".card").querySelector("a.proof");
    if (link) {
      link.focus({ preventScroll: true });
    }
  }

  function closeViewer() {
    if (history.state && history.state.viewer) {
      history.back(); /* popstate hides it */
    } else {
      hideViewer();
    }
  }

  window.addEventListener("popstate", function () {
    if (openViewer && !(history.state && history.state.viewer === openViewer.id)) {
      hideViewer();
    }
  });

  document.addEventListener("click", function (event) {
    var t = event.target;
    if (!t.closest) {
      return;
    }
    if (t.closest(".js-cancel") && dialog) {
      dialog.close();
      return;
    }
    var link = t.closest("a.proof");
    var viewer = link && document.getElementById((link.getAttribute("href") || "").slice(1));
    if (viewer && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
      event.preventDefault();
      showViewer(viewer);
      return;
    }
    if (openViewer && t.closest(".viewer-close")) {
      event.preventDefault();
      closeViewer();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && openViewer) {
      event.preventDefault();
      closeViewer();
    }
  });

  /* Keyboard focus stays inside the open viewer. */
  document.addEventListener("focusin", function (event) {
    if (openViewer && !openViewer.contains(event.target)) {
      var close = openViewer.querySelector(".viewer-close");
      if (close) {
        close.focus({ preventScroll: true });
      }
    }
  });

  /* ---- the note field: written in <noscript> (see the page), made a field when its form opens */

  function noteField(details) {
    var holder = details && details.querySelector("noscript.js-note");
    if (holder) {
      var tpl = document.createElement("template");
      /* text when the page was parsed with the script on; elements when it came in a fragment */
      tpl.innerHTML = holder.children.length ? holder.innerHTML : holder.textContent;
      holder.replaceWith(tpl.content);
    }
    return details ? details.querySelector("textarea[data-limit]") : null;
  }

  /* ---- note counters, set up when a note field is first used */

  function fmt(n) {
    return n.toLocaleString("en");
  }

  function setupCounter(area) {
    if (!area || area.getAttribute("data-counted")) {
      return;
    }
    area.setAttribute("data-counted", "1");
    var limit = parseInt(area.getAttribute("data-limit"), 10);
    var counter = document.createElement("p");
    counter.className = "counter";
    counter.setAttribute("aria-hidden", "true");
    area.insertAdjacentElement("afterend", counter);
    var update = function () {
      var n = area.value.trim().length;
      counter.textContent = fmt(n) + " / " + fmt(limit);
      counter.classList.toggle("over", n > limit);
    };
    area.addEventListener("input", update);
    update();
  }

  /* before the form opens (a click or key on its summary), so it never shows without its field */
  document.addEventListener("click", function (event) {
    var summary = event.target.closest && event.target.closest("details.change > summary");
    if (summary) {
      setupCounter(noteField(summary.parentElement));
    }
  });
  document.addEventListener(
    "toggle",
    function (event) {
      var details = event.target;
      if (details.matches && details.matches("details.change") && details.open) {
        setupCounter(noteField(details));
      }
    },
    true
  );
  Array.prototype.forEach.call(document.querySelectorAll("details.change[open]"), function (details) {
    var area = noteField(details);
    setupCounter(area);
    if (area && area.getAttribute("aria-invalid") === "true") {
      focusInView(area); /* a refused note (the page after the plain form): back to the field */
    }
  });

  measureBar();
  if (location.hash.indexOf("#view-") === 0) {
    viewerImage(document.getElementById(location.hash.slice(1))); /* opened by its address */
  }
})();
