"""Fakes of the exact interfaces the energy meters read: a powercap sysfs tree and the pynvml module."""
