from .common import F

T = "merchant"

F("merchant-personal-qr", "怎么申请个人收钱码",
  ["收款码怎么弄", "个人收钱码申请", "摆摊收款码", "怎么生成收款二维码", "收钱码在哪"],
  "进入首页“收钱”即可获得个人收钱码,可保存图片或免费申领实体码牌。个人收钱码适合个人之间和小摊贩收款,收到的钱实时进入余额,收款免费;信用卡、蚁花付款的部分每月累计 1000 元以内免费,超出收 0.6% 服务费。",
  tags=[T, "qr"], trig=["s:merchant:3", "s:home:1"], fu=["merchant-business-qr", "merchant-collection-arrival", "merchant-voice"])

F("merchant-business-qr", "怎么开通商家收款码",
  ["商家码申请", "开店要怎么开通收款", "个体户收款码", "经营收款怎么开通", "升级商家收款"],
  "进入“我的 → 商家服务 → 开通商家收款”,上传营业执照(或选择“无执照小微商户”)、经营场所照片和结算银行卡,审核一般 1 个工作日。商家收款码可收信用卡和蚁花,费率 0.38%,收款单日额度更高并提供经营数据。",
  tags=[T, "qr"], trig=["s:merchant:3"], fu=["merchant-fee", "merchant-personal-qr"])

F("merchant-fee", "商家收款手续费是多少",
  ["收款费率", "商家码收费标准", "收款要手续费吗", "收钱码手续费", "商户服务费多少"],
  "商家收款码按每笔交易金额的 0.38% 收取服务费,实时扣除后结算;个人收钱码收款免费,其中信用卡和蚁花付款部分每月超过 1000 元后收 0.6%。费用明细可在“商家服务 → 经营账单”查看。",
  tags=[T, "fee"], trig=["s:merchant:2"], fu=["merchant-business-qr", "invoice-how"])

F("merchant-collection-arrival", "收款多久到账",
  ["收钱码收款到账时间", "顾客付款了我没收到", "收钱码的钱没进账", "商家收款什么时候结算", "收款到余额还是银行卡"],
  "个人收钱码收款实时进入余额;商家收款码的经营收款默认实时到经营账户,可设置自动结算到银行卡(T+1 日到账)。如顾客显示付款成功而您未收到,请核对顾客账单中的收款方名称,并在“收款记录”中查询。",
  tags=[T, "arrival"], trig=["s:merchant:2"], fu=["merchant-voice", "withdraw-merchant"])

F("merchant-voice", "收款语音播报怎么开",
  ["收款提醒声音", "收钱语音提示", "到账语音播报没声音", "收款播报设置", "收款有声音提醒吗"],
  "进入“收钱 → 右上角 ··· → 收款语音提醒”开启,并允许小蚁钱包在后台运行、发送通知,手机媒体音量调大。安卓手机请将小蚁钱包加入省电白名单,避免后台被关闭导致不播报。",
  tags=[T, "settings"], trig=["s:merchant:2", "e:app_crash:1"], fu=["merchant-collection-arrival"])

F("merchant-limit", "收钱码有收款限额吗",
  ["收款码每天最多收多少", "收款限额", "收钱码收款被限制", "个人码收款上限", "收款超额了"],
  "个人收钱码用于经营收款时,单日收款上限 1000 笔或 10 万元;信用卡和蚁花付款部分单日 1000 元。超出后顾客无法付款,建议升级为商家收款码,限额更高。",
  tags=[T, "limit"], trig=["e:limit_reached:3", "s:merchant:2"], fu=["merchant-business-qr", "limit-overview"])

F("merchant-qr-restricted", "收钱码被限制收款了怎么办",
  ["收款码被封", "收钱码用不了", "收款功能被限制", "收钱码显示暂停收款", "收款码风险"],
  "收钱码被限制通常是检测到异常收款(疑似刷单、套现、赌博或被投诉诈骗)。请在“收钱 → 收款码状态”中查看原因,按提示上传经营照片、进货凭证等材料申请恢复,审核一般 3 个工作日。",
  soo="抱歉影响了您的生意。请在“收款码状态”里看一下限制原因,按提示上传经营照片、进货凭证等材料申请恢复,3 个工作日左右审核完成;着急的话我可以帮您转人工。",
  tags=[T, "restrict"], trig=["e:account_frozen:3", "s:merchant:2"], act=["handoff"], fu=["merchant-business-qr", "security-frozen-reason"])

F("merchant-refund-to-customer", "商家怎么给顾客退款",
  ["退款给顾客", "收钱码收的钱怎么退", "商家发起退款", "顾客要退钱怎么操作", "收款后退款"],
  "商家收款码:在“商家服务 → 经营账单”中找到该笔收款,点击“退款”,输入金额并验证支付密码,钱原路退回顾客。个人收钱码收款不支持退款操作,请直接转账给顾客。",
  tags=[T, "refund"], trig=["s:merchant:1", "s:refund:1"], fu=["refund-offline"])

F("merchant-data", "怎么查看店铺收款统计",
  ["经营数据", "每天收了多少钱", "收款统计报表", "商家流水怎么看", "导出收款记录"],
  "进入“我的 → 商家服务 → 经营账单”,可以按日、周、月查看收款笔数、金额和顾客数,支持导出 Excel 流水。个人收钱码的收款可在“收钱 → 收款记录”查看。",
  tags=[T, "data"], trig=["s:merchant:2"], fu=["merchant-collection-arrival", "bill-statement-export"])

F("merchant-shop-assistant", "可以让店员也收到收款通知吗",
  ["店员收款提醒", "添加店员", "多人收款通知", "员工也能听到收款播报吗", "店员账号"],
  "可以。商家收款码用户在“商家服务 → 店员管理”中添加店员的小蚁钱包账号,店员可收到收款通知、查看当日收款,但不能提现、退款或修改设置。最多添加 20 名店员。",
  tags=[T, "settings"], trig=["s:merchant:1"], fu=["merchant-voice"])

F("merchant-fake-payment", "顾客拿付款成功截图但我没收到钱怎么办",
  ["假付款截图", "顾客说付了钱但没到账", "收款被骗", "付款截图是假的", "怎么识别假的付款页面"],
  "请以您自己收到的收款通知或“收款记录”为准,不要只看顾客的手机截图;常见骗术有伪造付款页面、付款到其他人的码、付款后立即申请退款。未收到款项请不要放货;如已被骗,请保留监控和聊天记录并“一键报案”。",
  tags=[T, "fraud"], trig=["e:keyword_shuadan:2", "s:merchant:2"], act=["police_report"], fu=["merchant-collection-arrival", "merchant-voice"], risk=True)

F("merchant-settlement-card", "商家结算银行卡怎么更换",
  ["修改结算卡", "经营收款到账卡更换", "商家换收款银行卡", "结算账户变更", "商户结算卡换了"],
  "进入“商家服务 → 设置 → 结算账户”,点击“更换”,个体户和无执照小微商户可选择经营者本人储蓄卡,企业需填写对公账户并完成打款验证(1-2 个工作日)。更换后下一笔结算起生效。",
  tags=[T, "settings"], trig=["s:merchant:1", "s:card:1"], fu=["merchant-collection-arrival"])
