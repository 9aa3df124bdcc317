/* CraftStage approval page, the nicer path: decisions update in place, approve-all asks in a dialog.
   Without this script every action still works through plain forms and redirects. */
(function () {
  "use strict";

  var main = document.getElementById("main");
  if (!main || !window.fetch || !window.URLSearchParams) {
    return;
  }
  document.documentElement.classList.add("js");
  var toast = document.getElementById("toast");
  var toastTimer = null;

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
      setupCounters(fresh);
    }
    return fresh;
  }

  function say(text, level) {
    if (!toast || !text) {
      return;
    }
    var p = document.createElement("p");
    p.className = "flash flash-" + (level || "info");
    p.textContent = text;
    toast.replaceChildren(p);
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () {
      toast.replaceChildren();
    }, 6000);
  }

  function setBusy(form, busy) {
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) {
      b.disabled = busy;
    });
    form.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function post(form, extra) {
    var body = new URLSearchParams(new FormData(form));
    Object.keys(extra || {}).forEach(function (k) {
      body.set(k, extra[k]);
    });
    return fetch(form.action, {
      method: "POST",
      headers: { Accept: "application/json" },
      body: body,
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
      area.focus();
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
        swap("progress", d.progress);
        swap("bulk", d.bulk);
        swap("summary", d.summary);
        var fresh = d.card && card ? swap(card.id, d.card) : null;
        if (!d.card) {
          setBusy(form, false);
        }
        if (fresh) {
          var title = fresh.querySelector(".card-title");
          if (title) {
            title.focus({ preventScroll: true });
          }
        }
        say(d.message, d.level || (d.ok ? "success" : "warning"));
      })
      .catch(function () {
        form.submit(); /* fall back to the plain form */
      });
  }

  var dialog = document.getElementById("confirm-all");

  function openCards() {
    return Array.prototype.slice.call(document.querySelectorAll('.card[data-state="open"]'));
  }

  function onApproveAll(form) {
    var cards = openCards();
    if (!dialog || typeof dialog.showModal !== "function") {
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
    dialog.querySelector(".js-count").textContent = n + " remaining";
    dialog.querySelector(".js-confirm").textContent = "Yes, approve all " + n;
    if (toast) {
      toast.replaceChildren();
    }
    dialog.showModal();
    dialog.querySelector(".js-cancel").focus();
  }

  function onConfirmAll(form) {
    setBusy(form, true);
    post(form)
      .then(function (r) {
        var d = r.data;
        swap("items", d.items);
        swap("progress", d.progress);
        swap("bulk", d.bulk);
        swap("summary", d.summary);
        setBusy(form, false);
        dialog.close();
        var target = document.querySelector("#summary .end h2") || document.querySelector(".progress-title");
        if (target) {
          target.setAttribute("tabindex", "-1");
          target.focus();
        }
        say(d.message, d.level || (d.ok ? "success" : "warning"));
      })
      .catch(function () {
        form.submit();
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

  document.addEventListener("click", function (event) {
    var cancel = event.target.closest && event.target.closest(".js-cancel");
    if (cancel && dialog) {
      dialog.close();
    }
  });

  function fmt(n) {
    return n.toLocaleString("en");
  }

  function setupCounters(root) {
    Array.prototype.forEach.call(root.querySelectorAll("textarea[data-limit]"), function (area) {
      if (area.nextElementSibling && area.nextElementSibling.classList.contains("counter")) {
        return;
      }
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
    });
  }

  setupCounters(document);
})();
