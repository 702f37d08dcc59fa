"""The README documents every setting an operator can give."""

import re

from tests.support.infra import ROOT


def test_every_environment_variable_the_app_and_scripts_read_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    read = set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', (ROOT / "config.py").read_text()))
    for script in ("scripts/run", "Procfile"):
        read |= set(re.findall(r"\$\{?([A-Z][A-Z_]+)", (ROOT / script).read_text())) - {"PWD"}
    assert read >= {"MOBILIZE_PORT", "TRUSTED_PROXIES", "SECRET_KEY"}
    assert sorted(name for name in read if f"`{name}`" not in readme) == []
