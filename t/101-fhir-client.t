#!/usr/bin/perl
# A real FHIR client library (fhir-kit-client, from npm) through nginx, as a
# health-IT tool would use the service (issue 15): the CapabilityStatement,
# create, read, search and next to the last page, update with If-Match
# (and a stale one refused), vread, history and delete.

use strict;
use warnings;

use JSON::PP ();
use Test::More;

use Medrec::Stack;
use Medrec::Test;

my $t = Medrec::Stack->shared;
my $user = $t->new_user;
my $r = Medrec::Stack::run_cmd(cmd => [ 'node',
    Medrec::Stack::top() . '/t/fhir/client.js', $t->url . '/fhir/R4',
    $user->{token} ], env => { NODE_PATH => Medrec::Stack::npm_tool('fhir') },
    timeout => 120);
is($r->{status}, 0, 'the client\'s session ran to its end')
    or diag($r->{out} . $r->{err});
my $seen = eval { JSON::PP->new->decode($r->{out}) } // {};

is($seen->{fhirVersion}, '4.0.1', 'it read the CapabilityStatement of FHIR 4.0.1');
is_deeply($seen->{created}, [ ('1') x 5 ], 'it created five patients, each at version 1');
like($seen->{readName} // '', qr/^Kit\d+ Ann$/, 'it read one back');
is($seen->{pages}, 3, 'its search of _count=2 took three pages, through next');
is_deeply([ map { s/^Kit\d+ //r } @{ $seen->{names} // [] } ],
    [ qw(Ann Bo Cy Di Ed) ], '  which gave the five patients once each, by name');
is($seen->{updatedVersion}, '2', 'its update with If-Match made version 2');
is($seen->{updatedGender}, 'female', '  with the new gender');
is($seen->{staleUpdate}, 412, 'an update with a stale If-Match is refused with 412');
is($seen->{staleOutcome}, 'OperationOutcome', '  and an OperationOutcome');
is($seen->{version1Gender}, 'unknown', 'vread of version 1 gives it as it was');
is($seen->{historyType}, 'history', 'the history is a history Bundle');
is_deeply($seen->{historyVersions}, [ '2', '1' ], '  newest first');
is($seen->{readAfterDelete}, 410, 'after its delete, a read is 410');

done_testing();
