// The periodic task form of the admin (django_celery_beat), with the behaviour of the package's
// inline script, which the Content Security Policy refuses: the crontab's help says in words the
// schedule chosen ("Translation: At 06:00 AM UTC"), so the read-only "Crontab translation" row,
// which only shows the saved one, is hidden.
//
// Data: the readable crontabs by id, in <script type="application/json" id="readable-crontabs">
// (templates/admin/cxplatform/periodictask_change_form.html).
(function () {
  "use strict";

  var $ = window.django && window.django.jQuery;
  var data = document.getElementById("readable-crontabs");
  if (!$ || !data) {
    return;
  }
  var readableCrontabs = JSON.parse(data.textContent);
  var $help = $(".field-crontab .help");
  var originalCrontabHelp = $help.text().trim();

  // Text nodes, not HTML: a crontab's description and time zone are data, never markup.
  function updateCrontabHelp(additional) {
    $help.empty().append(document.createTextNode(originalCrontabHelp));
    if (additional !== undefined) {
      $help.append("<br>", document.createTextNode("Translation: " + additional));
    }
  }

  $(".field-crontab_translation").hide();
  // jQuery's handler, not addEventListener: the admin's related-object popups and its ready
  // handler send "change" with jQuery's trigger(), which a native listener does not hear.
  $(".field-crontab").on("change", function () {
    updateCrontabHelp(readableCrontabs[$("#id_crontab").val()]);
  });
})();
