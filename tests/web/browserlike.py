"""Read a page's form as a browser would submit it (for test-client tests of the multi-step form)."""

from html.parser import HTMLParser


class FormValues(HTMLParser):
    """Successful controls of the first form with ``id`` (or the first form): name -> value."""

    def __init__(self, html: str, form_id: str = "") -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self._form_id = form_id
        self._depth = 0  # inside the chosen form
        self._done = False
        self._select: str | None = None
        self._select_first: str | None = None
        self._option: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form" and not self._done and not self._depth:
            if not self._form_id or a.get("id") == self._form_id:
                self._depth = 1
            return
        if not self._depth:
            return
        name = a.get("name")
        if tag == "input" and name and "disabled" not in a:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.values[name] = a.get("value", "on")
            elif kind not in ("submit", "button", "image", "reset"):
                self.values[name] = a.get("value", "")
        elif tag == "select" and name:
            self._select, self._select_first = name, None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                self.values[self._select] = value
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_endtag(self, tag):
        if tag == "form" and self._depth:
            self._depth, self._done = 0, True
        elif tag == "select" and self._select:
            self.values.setdefault(self._select, self._select_first or "")
            self._select = None
        elif tag == "textarea" and self._textarea:
            text = "".join(self._text)
            self.values[self._textarea] = text[1:] if text.startswith("\n") else text
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self._text.append(data)


def form_values(html: str, form_id: str = "") -> dict[str, str]:
    return FormValues(html, form_id).values
