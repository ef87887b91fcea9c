<?php
// The settings form: argv[1] is the form as JSON, argv[2] the capabilities of the user posting it (comma-separated).
declare(strict_types=1);
require __DIR__ . '/wp-shim.php';
require __DIR__ . '/../airlock-leads.php';

$_POST = json_decode($argv[1], true, flags: JSON_THROW_ON_ERROR);
$_POST['_wpnonce'] = wp_create_nonce('airlock_leads_settings');
$GLOBALS['wp_user_caps'] = array_filter(explode(',', $argv[2] ?? ''));
try {
    do_action('admin_post_airlock_leads_settings');
    echo json_encode(['saved' => true]), "\n";
} catch (RuntimeException $error) {
    echo json_encode(['saved' => false, 'error' => $error->getMessage()]), "\n";
}
