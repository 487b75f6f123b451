from .common import F

T = "paylater"

F("paylater-open", "蚁花怎么开通",
  ["怎么开通蚁花", "蚁花在哪开", "我想用蚁花", "开通花呗", "蚁花开通条件", "如何开蚁花先用后付"],
  "进入“我的 → 蚁花 → 立即开通”,阅读并同意服务协议、验证支付密码即可。需年满 18 周岁、完成实名认证,系统会综合评估后给出 500 元至 5 万元的额度。开通免费,不使用不产生任何费用。",
  tags=[T, "open"], trig=["s:paylater:3", "s:home:1", "s:payment:1"], fu=["paylater-close", "paylater-cannot-open", "paylater-limit"])

F("paylater-close", "蚁花怎么关闭",
  ["关闭蚁花", "不想用蚁花了", "蚁花怎么注销", "停用花呗", "取消蚁花", "蚁花关掉"],
  "先还清全部已出账、未出账和分期金额,再进入“我的 → 蚁花 → 设置 → 关闭蚁花”,验证支付密码即可。关闭后额度清零,再次开通需要重新评估。如只是不想付款时默认用蚁花,可改为“暂停蚁花付款”。",
  tags=[T, "close"], trig=["s:paylater:2"], fu=["paylater-open", "paylater-disable-payment", "repayment-after-close"])

F("paylater-cannot-open", "为什么开通不了蚁花",
  ["蚁花开不了", "蚁花显示暂无额度", "我没有蚁花资格", "开通蚁花失败", "蚁花申请不通过"],
  "蚁花由系统根据年龄、实名信息、信用记录和使用情况综合评估,暂无法开通说明当前评估未满足条件;未满 18 周岁、身份证过期、账户有风险或有未结清逾期也无法开通。建议完善信息、保持良好使用,系统每月重新评估。",
  soo="抱歉暂时没能为您开通蚁花。这是系统综合评估的结果,年龄、证件过期、逾期记录等都会影响;完善信息并保持良好使用,系统每月会重新评估,请不要相信付费开通。",
  tags=[T, "open"], trig=["e:loan_rejected:3", "s:paylater:2"], fu=["identity-id-expired", "fraud-raise-limit-scam"])

F("paylater-limit", "蚁花额度是多少",
  ["我的蚁花额度", "蚁花能用多少钱", "蚁花额度在哪看", "蚁花可用额度", "花呗额度查询"],
  "进入“我的 → 蚁花”,首页显示总额度和可用额度。蚁花额度范围为 500 元至 5 万元,消费后可用额度减少,还款后实时恢复;退款也会恢复对应额度。",
  tags=[T, "limit"], trig=["s:paylater:3", "e:limit_reached:3"], fu=["paylater-raise-limit", "paylater-temp-limit"])

F("paylater-raise-limit", "蚁花额度怎么提升",
  ["蚁花提额", "怎么提高蚁花额度", "蚁花额度太低", "申请提升花呗额度", "蚁花额度怎么涨"],
  "进入“我的 → 蚁花 → 额度管理 → 提额”,系统会实时评估,有提额机会时可一键提升。平时多使用蚁花并按时还款、完善个人信息,有助于提升额度。任何收费提额的都是诈骗。",
  tags=[T, "limit"], trig=["e:limit_reached:4", "s:paylater:2"], fu=["paylater-temp-limit", "fraud-raise-limit-scam"])

F("paylater-temp-limit", "蚁花临时额度是什么",
  ["临时额度怎么用", "临时额度到期了怎么办", "蚁花临时额度能分期吗", "临时额度有效期", "临时提额"],
  "临时额度是在固定额度之外额外提供的额度,有效期 30 天,可在“蚁花 → 额度管理”中领取(有机会时显示)。临时额度到期后不会延长,使用的部分需在对应账单中一次还清,不支持账单分期。",
  tags=[T, "limit"], trig=["e:limit_reached:3", "s:paylater:1"], fu=["paylater-limit", "paylater-raise-limit"])

F("paylater-limit-reduced", "蚁花额度为什么被降低了",
  ["蚁花额度降了", "蚁花不能用了", "蚁花被关闭了", "花呗额度变少了", "蚁花突然用不了"],
  "系统会动态评估额度,近期逾期、长期不用、负债增加、证件过期或账户存在安全风险,都可能导致额度下调或暂停使用。保持按时还款、正常使用并更新证件,重新评估后有机会恢复。",
  soo="抱歉额度变化让您措手不及。这是系统动态评估的结果,常见原因是逾期、长期未用、负债增加或证件过期;按时还款、正常使用并更新证件后,重新评估时有机会恢复。",
  tags=[T, "limit"], trig=["e:limit_reached:3", "e:identity_expired:2", "e:bill_overdue:2"], fu=["paylater-raise-limit", "identity-id-expired"])

F("paylater-installment", "蚁花怎么分期付款",
  ["消费分期", "买东西用蚁花分期", "付款时怎么选分期", "蚁花分期购物", "下单分期付款"],
  "付款时选择蚁花,点击“分期”并选择 3、6、9 或 12 期即可;已付款的单笔 100 元以上消费,也可在“蚁花 → 账单 → 消费明细”中对该笔“申请分期”(需在出账前)。部分商家提供免息分期,以收银台显示为准。",
  tags=[T, "installment"], trig=["s:paylater:2", "s:payment:1"], fu=["paylater-installment-fee", "paylater-installment-early", "bill-installment"])

F("paylater-installment-fee", "蚁花分期手续费是多少",
  ["分期利息多少", "分期费率", "分12期手续费多少", "蚁花分期要多少钱", "分期手续费怎么算"],
  "蚁花分期总手续费率:3 期 2.4%、6 期 4.5%、9 期 6.5%、12 期 8.0%,按分期本金计算后平均分摊到每期。例如 1200 元分 12 期,总手续费 96 元,每期还 100 元本金加 8 元手续费。商家贴息的免息分期不收手续费。",
  tags=[T, "installment"], trig=["s:paylater:2", "s:bill:1"], fu=["paylater-installment", "paylater-installment-early"])

F("paylater-installment-early", "蚁花分期可以提前还清吗",
  ["分期提前还款", "分期能一次还完吗", "提前结清分期手续费", "不想分期了提前还", "分期剩下的一次性还"],
  "可以。进入“蚁花 → 账单 → 分期账单”,选择该笔分期点击“提前还清”,需一次性还清剩余全部本金;已出账的手续费照常收取,未出账期数的手续费全部免收。",
  tags=[T, "installment"], trig=["s:paylater:1", "s:repay:1"], fu=["paylater-installment-fee", "repayment-early-paylater"])

F("paylater-installment-refund", "分期的订单退款后手续费退吗",
  ["分期退货手续费", "分期订单退款怎么算", "退款后分期还要还吗", "分期买的东西退了", "分期退款手续费返还"],
  "全额退款后,该笔分期自动取消,已收取的分期手续费全额退回,未还本金不用再还;部分退款会先冲减未还本金,并按比例退还手续费。退款结果可在“分期账单”中查看。",
  tags=[T, "installment"], trig=["e:refund_requested:3", "s:refund:1"], fu=["refund-paylater", "paylater-installment"])

F("paylater-disable-payment", "怎么设置付款时不用蚁花",
  ["付款时跳过蚁花", "暂停蚁花支付", "付款别扣蚁花", "关闭蚁花付款方式", "禁用蚁花支付"],
  "进入“我的 → 蚁花 → 设置 → 暂停蚁花付款”,开启后付款时不会使用蚁花,额度保留,随时可以恢复。也可以在“支付设置 → 扣款顺序”中把蚁花调到最后。",
  tags=[T, "settings"], trig=["s:paylater:1", "s:payment:1"], fu=["paylater-close", "payment-method-order"])

F("paylater-where-use", "蚁花可以在哪里用",
  ["蚁花能在哪些地方付款", "哪些商家支持蚁花", "线下能用蚁花吗", "蚁花能转账吗", "蚁花能不能交房租"],
  "蚁花可在支持小蚁钱包付款的大部分线上、线下商家使用;不能用于转账、提现、充值余额、还信用卡、购买理财和彩票,也不能用于个人收钱码超出限额的收款。收银台未显示蚁花说明该场景不支持。",
  tags=[T, "usage"], trig=["s:paylater:2", "e:payment_failed:2"], fu=["paylater-cannot-pay", "paylater-cashout-warning"])

F("paylater-cannot-pay", "付款时为什么不能用蚁花",
  ["蚁花付不了款", "收银台没有蚁花选项", "蚁花支付失败", "这个商家不支持蚁花吗", "蚁花有额度却用不了"],
  "可能原因:该商家或商品类目不支持蚁花;可用额度不足;本期账单逾期导致暂停;开启了“暂停蚁花付款”;单笔金额超过该商家限制;交易存在风险被拦截。可在付款页更换其他付款方式。",
  soo="抱歉在付款时给您添麻烦了。可能是商家不支持、额度不够、有逾期被暂停,或您开了“暂停蚁花付款”;先换个付款方式应急,之后我帮您一起排查。",
  tags=[T, "usage"], trig=["e:payment_failed:4", "s:paylater:1"], fu=["paylater-where-use", "paylater-disable-payment", "paylater-limit"])

F("paylater-cashout-warning", "有人说能把蚁花额度套现出来可以吗",
  ["蚁花套现", "花呗额度换现金", "蚁花提现到银行卡", "帮忙把蚁花变成钱", "蚁花取现"],
  "不可以。蚁花仅限真实消费,不能提现或套现。通过虚假交易套现违反协议,会被关闭蚁花并可能影响征信;所谓“套现代办”常以收手续费、骗取验证码等方式实施诈骗。如需资金,可在“我的 → 蚁借”中合法借款。",
  tags=[T, "usage"], trig=["e:keyword_shuadan:3", "s:paylater:1"], act=["handoff"], fu=["loan-apply", "fraud-loan-fee"], risk=True)

F("paylater-free-period", "蚁花免息期有多长",
  ["蚁花最长免息多少天", "蚁花不分期有利息吗", "蚁花多久不用付利息", "免息期怎么算", "蚁花消费有利息吗"],
  "蚁花不分期、按时全额还款就不收任何利息。免息期从消费日到对应还款日,最长约 40 天:例如默认 1 日出账、10 日还款时,本月 1 日出账后的消费计入下月 1 日账单,下月 10 日才需还款。",
  tags=[T, "fee"], trig=["s:paylater:2", "s:bill:1"], fu=["bill-dates", "paylater-installment-fee"])

F("paylater-student", "学生可以开通蚁花吗",
  ["大学生能用蚁花吗", "在校生开蚁花", "学生开通花呗", "学生身份有额度吗", "未毕业能用蚁花吗"],
  "年满 18 周岁的在校大学生可以申请,系统会综合评估给出较低的额度(一般不超过 2000 元),且不提供临时额度。未满 18 周岁无法开通。请理性消费,量入为出。",
  tags=[T, "open"], trig=["s:paylater:1"], fu=["paylater-open", "identity-minor"])

F("paylater-family", "蚁花可以给家人用吗",
  ["蚁花亲情卡", "家人能用我的蚁花吗", "给父母开通蚁花代付", "蚁花共享额度", "蚁花能借给别人用吗"],
  "蚁花额度仅限本人使用,不能转让。您可以通过“我的 → 亲情卡”为家人开通亲情卡,家人消费时可选择由您的账户(包括蚁花)付款,每月额度由您设置、最高 5000 元,账单计入您的名下。",
  tags=[T, "usage"], trig=["s:paylater:1"], fu=["payment-pay-for-others"])

F("paylater-bill-not-received", "蚁花消费了为什么账单里没有",
  ["蚁花消费没显示", "账单里找不到这笔消费", "蚁花消费记录在哪", "刚用蚁花买的东西不在账单里", "蚁花消费没有入账"],
  "账单日之后的消费会显示在“未出账”中,计入下一期账单;若刚付款,稍后刷新即可看到。如果付款后订单又发生了全额退款,该笔不会再计入账单。",
  tags=[T, "bill"], trig=["s:paylater:1", "s:bill:2"], fu=["bill-unposted", "bill-view"])

F("paylater-contract", "蚁花服务协议在哪看",
  ["蚁花合同", "蚁花协议查看", "花呗服务合同下载", "我签的蚁花协议", "蚁花条款"],
  "进入“我的 → 蚁花 → 设置 → 服务协议”,可以查看和下载您签署的蚁花服务合同及隐私授权书,也可以看到每次分期的分期协议。",
  tags=[T, "contract"], trig=["s:paylater:1"], fu=["paylater-close"])
