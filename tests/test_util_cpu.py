"""The CPU facts read from /proc/cpuinfo: one reader for the TDP table, the machine record and the
fingerprint of the machine a job ran on (one reader: changing it changes stored jobs' machine)."""

from __future__ import annotations

import platform

from paradox_gym._util.cpu import count_packages, cpu_model, cpu_name
from paradox_gym.report.machine import machine_info

TWO_PACKAGES = """processor\t: 0
model name\t: AMD EPYC 7B13
physical id\t: 0

processor\t: 1
model name\t: AMD EPYC 7B13
physical id\t: 1
"""


def test_model_name_and_packages_come_from_the_cpuinfo_text() -> None:
    assert cpu_model(TWO_PACKAGES) == "AMD EPYC 7B13"
    assert count_packages(TWO_PACKAGES) == 2
    assert count_packages("processor\t: 0\n") == 1


def test_without_a_model_name_the_os_says_or_nothing() -> None:
    assert cpu_model("processor\t: 0\nmodel name\t:  \n") == platform.processor().strip()


def test_the_machine_record_names_the_cpu_the_reader_names() -> None:
    assert machine_info(1)["cpu_model"] == cpu_name() != ""


def test_no_cpuinfo_reads_as_empty_and_the_name_falls_back_to_the_architecture(tmp_path) -> None:
    from paradox_gym._util.cpu import cpuinfo_text

    assert cpuinfo_text(tmp_path / "absent") == ""
    assert cpu_name("model name\t: Some CPU\n") == "Some CPU"
    assert cpu_name("processor\t: 0\n") == (platform.processor().strip() or platform.machine())
