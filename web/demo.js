/* The sample clinic's own script: a link and a button that use the widget's API. */
(function () {
  "use strict";
  document.getElementById("clinic-open").addEventListener("click", function (event) {
    event.preventDefault();
    if (window.faqbot) { window.faqbot.open(); }
  });
  document.getElementById("clinic-ask").addEventListener("click", function (event) {
    if (window.faqbot) { window.faqbot.ask(event.currentTarget.getAttribute("data-question")); }
  });
}());
