'use strict';

const crypto = require('crypto');
const express = require('express');
const serverless = require('serverless-http');

const app = express();
app.use(express.json());

const notes = new Map([['welcome', { id: 'welcome', text: 'hello from express' }]]);

// Request-scoped logging as Express apps do it.
app.use((req, res, next) => {
  res.set('x-request-path', req.path);
  next();
});

app.get('/notes', (req, res) => {
  const limit = Number(req.query.limit ?? 10);
  res.json({ notes: [...notes.values()].slice(0, limit), protocol: req.protocol });
});

app.get('/notes/:id', (req, res) => {
  const note = notes.get(req.params.id);
  if (!note) {
    res.status(404).json({ message: `no note ${req.params.id}` });
    return;
  }
  res.type('json').send(JSON.stringify(note));
});

app.post('/notes', (req, res) => {
  const id = crypto.createHash('sha256').update(req.body.text).digest('hex').slice(0, 8);
  notes.set(id, { id, text: req.body.text });
  res.status(201).location(`/notes/${id}`).json({ id, text: req.body.text });
});

app.get('/plain', (req, res) => {
  res.cookie('session', 'abc', { httpOnly: true });
  res.send(`method=${req.method} ua=${req.get('user-agent') ?? '-'}`);
});

app.use((error, req, res, next) => {
  res.status(500).json({ message: error.message });
});

module.exports.handler = serverless(app);
