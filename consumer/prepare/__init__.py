"""Prepare: typed messages become a prepared batch: known contents looked up, rows mapped to
the core tables, rejections recorded, the newest version of each lot picked."""
