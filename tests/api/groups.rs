//! /Groups.
