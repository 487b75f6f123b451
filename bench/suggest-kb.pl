#!/usr/bin/perl
# Writes a synthetic knowledge base of N FAQs (default 10000) with
# triggers, for benchmarks only:  bench/suggest-kb.pl 10000 > /tmp/kb-10k.json
#
# Shape, scaled up from the demo KB: 100 FAQs per topic; every topic has
# 4 events of its own (topic events, weight 2-6), 25 events are shared by
# all topics (weight 1-3, on 3 FAQs out of 5), 15 scenes (weight 1-3);
# 1 FAQ in 100 is a risk FAQ triggered by the fraud events, with actions.
# The text is assembled from a few words; it means nothing.
use strict;
use warnings;
use utf8;
use JSON::PP;

my $n = shift // 10000;
my @w = qw(账户 转账 还款 提现 额度 绑卡 退款 支付 密码 登录 安全 验证
           优惠 会员 发票 商户 隐私 应用 服务 限额 身份 余额 账单 借款);
my @global = qw(login_new_device password_changed transfer_failed
                transfer_large transfer_new_payee payment_failed
                refund_requested refund_delayed bill_due bill_overdue
                repayment_failed loan_applied loan_rejected loan_disbursed
                limit_reached card_bind_failed identity_expired
                face_verify_failed sms_not_received app_crash
                coupon_expiring withdraw_pending account_frozen
                keyword_shuadan phone_lost_reported);
my @scenes = qw(home transfer bill repay loan paylater card security refund
                payment profile coupon withdraw merchant member);

my @faqs;
for my $i (0 .. $n - 1) {
    my $topic = int($i / 100);
    my ($x, $y, $z) = ($w[$i % @w], $w[($i / 7) % @w], $w[($i / 3) % @w]);
    my @tr = ({ event => sprintf('t%03d_e%d', $topic, $i % 4),
                weight => 2 + $i % 5 });
    push @tr, { event => $global[($i * 7) % @global], weight => 1 + $i % 3 }
        if $i % 5 < 3;
    push @tr, { scene => $scenes[$topic % @scenes], weight => 1 + $i % 3 };
    my %f = (id => "f$i", question => "${x}${y}怎么${z}（$i）",
             similar => ["如何${z}${x}${y} $i"],
             answer => "关于${x}${y}：请在应用里打开${z}页面操作。编号 $i。",
             tags => ["t$topic"], triggers => \@tr);
    if ($i % 100 == 50) {
        $f{risk} = JSON::PP::true;
        $f{actions} = ['loss_report', 'police_report', 'handoff'];
        push @tr, { event => 'transfer_large', weight => 4 },
                  { event => 'keyword_shuadan', weight => 5 };
    }
    push @faqs, \%f;
}

print JSON::PP->new->utf8->canonical->encode({
    version => "bench-$n",
    welcome => [map { "f$_" } grep { $_ < $n } 0, 101, 202, 303, 404, 505,
                606, 707],
    faqs => \@faqs,
});
