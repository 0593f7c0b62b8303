//! /Users.
