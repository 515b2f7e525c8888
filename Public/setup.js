/* Parley: create the first admin (GET /setup?token=…), or, in invite mode (GET /setup?invite=TOKEN), let an invited
   agent (or one whose password an admin reset) choose their password: GET /api/invite?token= says who, POST /api/invite
   sets it. No build step; texts in T below. */
(function () {
'use strict';

var T = {
  en: {
    pageTitle: 'Parley · Create the first admin',
    title: 'Create the first admin',
    lead: 'This account manages the chat widgets and the other agents.',
    checking: 'Checking the setup link…',
    name: 'Your name',
    email: 'Email',
    password: 'Password',
    passwordHint: 'At least 10 characters.',
    confirm: 'Confirm the password',
    submit: 'Create the admin',
    submitting: 'Creating…',
    required: 'This field cannot be empty.',
    nameTooLong: 'The name must have at most 80 characters.',
    emailInvalid: 'Enter a valid email address, like name@example.com.',
    emailTaken: 'An agent with this email already exists.',
    passwordShort: 'The password must have at least 10 characters.',
    passwordLong: 'The password is too long (at most 72 bytes; accented letters count as 2).',
    confirmMismatch: 'The two passwords are not the same.',
    fixFields: 'Please correct the fields marked below.',
    noToken: 'This page needs the one-time setup link that the server printed in its log when it started (it ends with ?token=…). Open that link.',
    badToken: 'This setup link is not valid or has already been used. Restart the server to print a new link in its log, then open that link.',
    done: 'An admin already exists — sign in.',
    signIn: 'Go to the sign-in page',
    rateLimited: 'Too many attempts. Try again in {s} seconds.',
    network: 'The server could not be reached. Check your connection and try again.',
    server: 'The server could not create the admin: {m}',
    // invite mode
    invitePageTitle: 'Parley · Choose your password',
    inviteTitle: 'Choose your password',
    inviteLead: 'Welcome, {name}. Choose the password you will sign in with as {email}.',
    inviteChecking: 'Checking the invite link…',
    inviteSubmit: 'Set my password',
    inviteSubmitting: 'Saving…',
    inviteInvalid: 'This link was used, replaced or has expired. Ask your admin for a new one.',
    inviteDone: 'Password set — sign in with {email} and your new password.',
    inviteServer: 'The server could not set the password: {m}',
    passwordRules: '10 to 72 characters (an accented letter counts as 2).'
  },
  fr: {
    pageTitle: 'Parley · Créer le premier administrateur',
    title: 'Créer le premier administrateur',
    lead: 'Ce compte gère les widgets de chat et les autres agents.',
    checking: 'Vérification du lien d’installation…',
    name: 'Votre nom',
    email: 'E-mail',
    password: 'Mot de passe',
    passwordHint: 'Au moins 10 caractères.',
    confirm: 'Confirmez le mot de passe',
    submit: 'Créer l’administrateur',
    submitting: 'Création…',
    required: 'Ce champ ne peut pas être vide.',
    nameTooLong: 'Le nom doit comporter au plus 80 caractères.',
    emailInvalid: 'Saisissez une adresse e-mail valide, par exemple nom@exemple.fr.',
    emailTaken: 'Un agent utilise déjà cette adresse e-mail.',
    passwordShort: 'Le mot de passe doit comporter au moins 10 caractères.',
    passwordLong: 'Le mot de passe est trop long (72 octets au plus ; une lettre accentuée compte pour 2).',
    confirmMismatch: 'Les deux mots de passe ne sont pas identiques.',
    fixFields: 'Veuillez corriger les champs signalés ci-dessous.',
    noToken: 'Cette page a besoin du lien d’installation à usage unique que le serveur a écrit dans son journal au démarrage (il se termine par ?token=…). Ouvrez ce lien.',
    badToken: 'Ce lien d’installation n’est pas valide ou a déjà servi. Redémarrez le serveur pour qu’il écrive un nouveau lien dans son journal, puis ouvrez ce lien.',
    done: 'Un administrateur existe déjà — connectez-vous.',
    signIn: 'Aller à la page de connexion',
    rateLimited: 'Trop de tentatives. Réessayez dans {s} secondes.',
    network: 'Impossible de joindre le serveur. Vérifiez votre connexion et réessayez.',
    server: 'Le serveur n’a pas pu créer l’administrateur : {m}',
    invitePageTitle: 'Parley · Choisissez votre mot de passe',
    inviteTitle: 'Choisissez votre mot de passe',
    inviteLead: 'Bienvenue, {name}. Choisissez le mot de passe avec lequel vous vous connecterez en tant que {email}.',
    inviteChecking: 'Vérification du lien d’invitation…',
    inviteSubmit: 'Définir mon mot de passe',
    inviteSubmitting: 'Enregistrement…',
    inviteInvalid: 'Ce lien a déjà servi, a été remplacé ou a expiré. Demandez-en un nouveau à votre administrateur.',
    inviteDone: 'Mot de passe défini — connectez-vous avec {email} et votre nouveau mot de passe.',
    inviteServer: 'Le serveur n’a pas pu définir le mot de passe : {m}',
    passwordRules: 'De 10 à 72 caractères (une lettre accentuée compte pour 2).'
  }
};
var forced = new URLSearchParams(location.search).get('lang');
var lang = forced === 'fr' || forced === 'en' ? forced : /^fr\b/i.test(navigator.language || '') ? 'fr' : 'en';
var L = T[lang];
function t(key, vars) {
  return L[key].replace(/\{(\w+)\}/g, function (_, k) { return vars && k in vars ? String(vars[k]) : ''; });
}

var $ = function (id) { return document.getElementById(id); };
var form = $('form'), alertBox = $('alert'), submit = $('submit');
var FIELDS = ['name', 'email', 'password', 'confirm'];
var token = new URLSearchParams(location.search).get('token') || '';
var invite = new URLSearchParams(location.search).get('invite') || '';

document.documentElement.lang = lang;
document.title = L.pageTitle;
document.querySelectorAll('[data-t]').forEach(function (el) { el.textContent = L[el.getAttribute('data-t')]; });

// Same rules as the server (FormValidator.isEmail, Passwords.validate, addAgent): a request the
// server would refuse is never sent. Code points are counted, which is never laxer than Swift.
function isEmail(s) {
  var parts = s.split('@');
  if (parts.length !== 2 || !parts[0] || Array.from(parts[0]).length > 64) return false;
  var d = parts[1];
  if (d.indexOf('.') < 0 || d[0] === '.' || d[d.length - 1] === '.' || d.indexOf('..') >= 0) return false;
  return !/[\s<>,]/.test(s);
}
function passwordError(p) {
  if (!p) return L.required;
  if (Array.from(p).length < 10) return L.passwordShort;
  if (new TextEncoder().encode(p).length > 72) return L.passwordLong;
  return '';
}
function values() {
  return {
    name: $('name').value.trim(),
    email: $('email').value.trim().toLowerCase(),
    password: $('password').value,
    confirm: $('confirm').value
  };
}
function check(v) {
  var e = {};
  if (!v.name) e.name = L.required;
  else if (Array.from(v.name).length > 80) e.name = L.nameTooLong;
  if (!v.email) e.email = L.required;
  else if (!isEmail(v.email)) e.email = L.emailInvalid;
  var p = passwordError(v.password);
  if (p) e.password = p;
  if (!v.confirm) e.confirm = L.required;
  else if (v.confirm !== v.password) e.confirm = L.confirmMismatch;
  return e;
}

function setFieldError(name, message) {
  var input = $(name);
  $(name + '-error').textContent = message || '';
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}
function showErrors(errors) {
  var first = null;
  FIELDS.forEach(function (f) {
    setFieldError(f, errors[f]);
    if (errors[f] && !first) first = $(f);
  });
  if (first) first.focus();
  return !!first;
}
// The server's field texts are English only: show ours, in the page's language, when we know the rule.
function localFieldError(field, v, serverText) {
  if (field === 'password') return passwordError(v.password) || serverText;
  if (field === 'email') return !v.email ? L.required : !isEmail(v.email) ? L.emailInvalid : serverText;
  if (field === 'name') return !v.name ? L.required : Array.from(v.name).length > 80 ? L.nameTooLong : serverText;
  return serverText;
}

// Replaces the form with a message (link missing, spent, or an admin already exists).
function showState(text, withSignIn) {
  $('checking').hidden = true;
  form.hidden = true;
  $('lead').hidden = true;
  $('state-text').textContent = text;
  $('state-link').textContent = L.signIn;
  $('state-more').hidden = !withSignIn;
  $('state').hidden = false;
  $('title').focus();
}
function showForm() {
  $('checking').hidden = true;
  form.hidden = false;
}

// Clears a field's error as soon as the person fixes it (not while they first type).
FIELDS.forEach(function (f) {
  $(f).addEventListener('input', function () {
    if (!$(f).hasAttribute('aria-invalid')) return;
    var e = check(values());
    setFieldError(f, e[f]);
  });
});

function readError(response) {
  return response.json().then(function (b) { return (b && b.error) || {}; }, function () { return {}; });
}

function handleFailure(status, err, retryAfter, v) {
  var code = err.code || '';
  if (status === 410 || code === 'setup_done') return showState(L.done, true);
  if (status === 403 && code === 'invalid_setup_token') return showState(L.badToken, false);
  if (status === 429) { alertBox.textContent = t('rateLimited', { s: retryAfter || 60 }); return; }
  if (status === 422 && err.fields) {
    var e = {};
    Object.keys(err.fields).forEach(function (f) {
      if (FIELDS.indexOf(f) >= 0) e[f] = localFieldError(f, v, err.fields[f]);
    });
    if (showErrors(e)) { alertBox.textContent = L.fixFields; return; }
  }
  if (status === 409) { showErrors({ email: L.emailTaken }); return; }
  alertBox.textContent = t('server', { m: err.message || ('HTTP ' + status) });
}

form.addEventListener('submit', function (ev) {
  ev.preventDefault();
  if (invite) return;  // invite mode: submitInvite below
  alertBox.textContent = '';
  var v = values();
  if (showErrors(check(v))) { alertBox.textContent = L.fixFields; return; }
  submit.disabled = true;
  submit.textContent = L.submitting;
  fetch('/api/setup', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    credentials: 'same-origin',
    body: JSON.stringify({ token: token, email: v.email, name: v.name, password: v.password })
  }).then(function (r) {
    if (r.status === 201) { location.assign('/agent'); return; }
    return readError(r).then(function (err) {
      handleFailure(r.status, err, r.headers.get('Retry-After'), v);
    });
  }, function () {
    alertBox.textContent = L.network;
  }).then(function () {
    submit.disabled = false;
    submit.textContent = L.submit;
  });
});

if (invite) {
  startInvite();
} else if (!token) {
  showState(L.noToken, false);
} else {
  // Is setup still open? GET /api/setup says; on any failure show the form and let the real
  // submit report what is wrong.
  fetch('/api/setup', { credentials: 'same-origin' }).then(function (r) {
    return r.ok ? r.json() : { setupNeeded: true };
  }).then(function (state) {
    if (state && state.setupNeeded === false) showState(L.done, true); else showForm();
  }, showForm);
}

// ---- invite mode: /setup?invite=TOKEN (a new agent, or a password reset by an admin)

function startInvite() {
  FIELDS = ['password', 'confirm'];
  document.title = L.invitePageTitle;
  $('title').textContent = L.inviteTitle;
  $('checking').textContent = L.inviteChecking;
  $('lead').hidden = true;
  $('name').closest('.field').hidden = true;
  $('email').closest('.field').hidden = true;
  $('password-hint').textContent = L.passwordRules;
  $('password').setAttribute('autocomplete', 'new-password');
  submit.textContent = L.inviteSubmit;
  fetch('/api/invite?token=' + encodeURIComponent(invite), { credentials: 'same-origin' }).then(function (r) {
    if (r.ok) return r.json().then(function (who) {
      // The email goes in the hidden username field too, for password managers.
      $('email').value = who.email || '';
      $('lead').textContent = t('inviteLead', { name: who.name || who.email || '', email: who.email || '' });
      $('lead').hidden = false;
      showForm();
      $('password').focus();
    });
    if (r.status === 410 || r.status === 404) { showState(L.inviteInvalid, false); return; }
    return readError(r).then(function (err) {
      if (err.code === 'invite_invalid') { showState(L.inviteInvalid, false); return; }
      showState(t('inviteServer', { m: err.message || ('HTTP ' + r.status) }), false);
    });
  }, function () {
    showState(L.network, false);
  });
  form.addEventListener('submit', submitInvite);
}

function submitInvite(ev) {
  ev.preventDefault();
  alertBox.textContent = '';
  var v = values(), e = {};
  var p = passwordError(v.password);
  if (p) e.password = p;
  if (!v.confirm) e.confirm = L.required;
  else if (v.confirm !== v.password) e.confirm = L.confirmMismatch;
  if (showErrors(e)) { alertBox.textContent = L.fixFields; return; }
  submit.disabled = true;
  submit.textContent = L.inviteSubmitting;
  fetch('/api/invite', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    credentials: 'same-origin',
    body: JSON.stringify({ token: invite, password: v.password })
  }).then(function (r) {
    if (r.ok) {
      return r.json().then(function (b) { return b; }, function () { return {}; }).then(function (b) {
        showState(t('inviteDone', { email: (b && b.email) || v.email }), true);
      });
    }
    return readError(r).then(function (err) {
      // 410, or 409 when two uses of the link raced and this one lost: spent either way
      if (r.status === 410 || err.code === 'invite_invalid') { showState(L.inviteInvalid, false); return; }
      if (r.status === 429) { alertBox.textContent = t('rateLimited', { s: r.headers.get('Retry-After') || 60 }); return; }
      if (r.status === 422 && err.fields && err.fields.password) {
        showErrors({ password: localFieldError('password', v, err.fields.password) });
        alertBox.textContent = L.fixFields;
        return;
      }
      alertBox.textContent = t('inviteServer', { m: err.message || ('HTTP ' + r.status) });
    });
  }, function () {
    alertBox.textContent = L.network;
  }).then(function () {
    submit.disabled = false;
    submit.textContent = L.inviteSubmit;
  });
}
})();
