<?php
// One form post to admin-post.php?action=airlock_lead: argv[1] is the form as JSON (a "_wpnonce" of "valid" is replaced
// by a real nonce). Prints the handler's result and the stored leads as JSON.
declare(strict_types=1);
require __DIR__ . '/wp-shim.php';
require __DIR__ . '/../airlock-leads.php';

$form = json_decode($argv[1], true, flags: JSON_THROW_ON_ERROR);
if (($form['_wpnonce'] ?? '') === 'valid') $form['_wpnonce'] = wp_create_nonce('airlock_lead');
$_POST = array_map(static fn ($value) => is_bool($value) ? ($value ? '1' : '0') : (string) $value, $form);
$result = do_action('admin_post_nopriv_airlock_lead');
echo json_encode(['result' => $result, 'leads' => $GLOBALS['wp_state']['meta']], JSON_PRETTY_PRINT), "\n";
