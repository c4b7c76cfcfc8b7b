"use strict";
// The admin's periodic task form (django-celery-beat): the chosen crontab in words under the field.
{
    const script = document.getElementById("periodic-task-overrides");
    const readable = JSON.parse(document.getElementById("readable-crontabs").textContent);
    const crontab = document.getElementById("id_crontab");
    const help = document.querySelector(".field-crontab .help");
    const translation = document.querySelector(".field-crontab_translation");

    const showTranslation = () => {
        if (!help) {
            return;
        }
        help.textContent = script.dataset.crontabHelp;
        const words = crontab && readable[crontab.value];
        if (words) {
            help.append(document.createElement("br"), `Translation: ${words}`);
        }
    };

    if (translation) {
        translation.hidden = true;
    }
    if (crontab) {
        crontab.addEventListener("change", showTranslation);
    }
}
