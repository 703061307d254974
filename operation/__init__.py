"""Authorised operation of public data (公共数据授权运营): applications for use of data (用数申请), the
operation zone (授权运营专区) where raw data stays inside and only checked aggregates leave.

Imports only the core (``sudata``): the portal and the ``sudata`` command sit above it.
"""
